"""Find identifiers in any column: value shapes, check digits and column names, together.

For each column the scanner works on the distinct values (with their counts), so categorical
columns cost next to nothing. Per kind it measures the share of values of the right shape, the
check-digit pass rate among them (a random number passes about one time in ten, so a rate near
10% is evidence *against* the kind) and whether the column name hints at the kind:

    confidence = share x evidence x prior (x 1.25 with a name hint, at most 1)
    evidence   = (pass rate - random pass rate) / (1 - random pass rate), for kinds with a check

Person names also need many distinct values (50, or 80% of small columns, and 2% of the
values or more: a category label repeats). A text
column where no kind fits whole values is searched for e-mail addresses, mobile phones,
〒 postal codes and My Numbers (with valid check digits) inside the text. Findings carry counts
and evidence, never a value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from pipeline.core.arrow import one_array
from pipeline.scan.kinds import KINDS, Kind, Shape, my_number_ok

MIN_CONFIDENCE = 0.5
_SEPARATORS = r"[\s\-\x{2010}-\x{2015}\x{2212}()]"
_HINT_CLEAN = re.compile(r"[\s_\-.]")
_PLAIN_DIGITS = re.compile(r"\^\\d\{\d+\}\$")
_NUMBER = r"^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$"  # one decimal number


class Finding(BaseModel):
    """A column that holds identifiers of one kind (counts and evidence only)."""

    column: str
    kind: str
    category: str = Field(description="identification_code, direct_identifier or corporate.")
    matches: int = Field(description="Values that match the kind (shape and check digit).")
    rows_checked: int = Field(description="Non-missing values scanned.")
    confidence: float
    evidence: dict[str, Any] = Field(default_factory=dict)


def name_hints(column: str) -> set[str]:
    """Kinds whose column-name hints appear in ``column`` (NFKC, case and separators folded)."""
    folded = _HINT_CLEAN.sub("", unicodedata.normalize("NFKC", column).lower())
    return {k.name for k in KINDS if any(h in folded for h in k.hints)}


def _digit_matrix(values: pa.Array, width: int) -> np.ndarray:
    """Strings of exactly ``width`` ASCII digits -> an (n x width) int matrix (no copies)."""
    values = values.cast(pa.string())
    start = values.offset
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[start : start + len(values) + 1]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return (data.reshape(-1, width) - 48).astype(np.int64)


def _check(shape: Shape, values: pa.Array) -> np.ndarray:
    """Check-digit result for each candidate (grouped by length)."""
    out = np.zeros(len(values), dtype=bool)
    lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
    for width in np.unique(lengths):
        where = np.flatnonzero(lengths == width)
        matrix = _digit_matrix(values.take(pa.array(where)), int(width))
        out[where] = shape.check(matrix)
    return out


_DATE = r"^\d{4}[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])$"  # a calendar date, as written


def _normalized(raw: pa.Array) -> tuple[pa.Array, pa.Array]:
    """NFKC text, and the same with separators removed (+81 read as a leading 0)."""
    if pc.all(pc.string_is_ascii(raw)).as_py():  # NFKC leaves ASCII as it is: skip the work
        text = digits = raw
        if pc.any(pc.match_substring_regex(raw, r"[- ()\t]")).as_py():  # one scan for all five
            for sep in ("-", " ", "(", ")", "\t"):
                if pc.any(pc.match_substring(digits, sep)).as_py():
                    digits = pc.replace_substring(digits, sep, "")
    else:
        text = pc.utf8_normalize(raw, "NFKC")
        digits = pc.replace_substring_regex(text, _SEPARATORS, "")
    if pc.any(pc.starts_with(digits, "+81")).as_py():
        digits = pc.replace_substring_regex(digits, r"^\+81", "0")
    dated = _dates(raw)
    if dated is not None:  # 1967-03-12 is a date, not the 8-digit code 19670312
        digits = pc.if_else(dated, raw, digits)
    return text, digits


def _dates(raw: pa.Array) -> pa.Array | None:
    """Which values are calendar dates (None: none is).

    A date as ``_DATE`` writes it has 8-10 bytes (RE2's digit class is ASCII): the regex reads
    those values only (a column of 24-character tokens has none to read).
    """
    size = pc.binary_length(raw).to_numpy(zero_copy_only=False)
    sized = np.flatnonzero((size >= 8) & (size <= 10))
    if not sized.size:
        return None
    hit = pc.match_substring_regex(raw.take(pa.array(sized)), _DATE).to_numpy(zero_copy_only=False)
    if not hit.any():
        return None
    dated = np.zeros(len(raw), dtype=bool)
    dated[sized[hit]] = True
    return pa.array(dated)


@dataclass(frozen=True)
class _Values:
    """A column's distinct values, prepared once: counts, forms and cheap facts."""

    counts: np.ndarray
    text: pa.Array
    digits: pa.Array
    text_len: np.ndarray
    digits_len: np.ndarray
    digit_only: np.ndarray

    @classmethod
    def of(cls, values: pa.Array, counts: np.ndarray) -> _Values:
        """From distinct values and how often each occurs."""
        text, digits = _normalized(values)
        return cls(
            counts,
            text,
            digits,
            pc.utf8_length(text).to_numpy(zero_copy_only=False),
            pc.utf8_length(digits).to_numpy(zero_copy_only=False),
            pc.utf8_is_digit(digits).to_numpy(zero_copy_only=False),
        )


def _matches(shape: Shape, v: _Values) -> np.ndarray:
    """Whole-value regex matches, the regex run only on values that pass the cheap filters."""
    on_digits = shape.on == "digits"
    target = v.digits if on_digits else v.text
    keep = v.digit_only.copy() if on_digits else np.ones(len(target), dtype=bool)
    if shape.lengths:
        keep &= np.isin(v.digits_len if on_digits else v.text_len, shape.lengths)
    if shape.literal:
        keep &= pc.match_substring(target, shape.literal).to_numpy(zero_copy_only=False)
    out = np.zeros(len(target), dtype=bool)
    where = np.flatnonzero(keep)
    if on_digits and shape.lengths and _PLAIN_DIGITS.fullmatch(shape.regex):
        out[where] = True  # ^\d{N}$: the digit and length filters already decided
        return out
    if where.size:
        hit = pc.match_substring_regex(target.take(pa.array(where)), shape.regex)
        out[where] = hit.to_numpy(zero_copy_only=False)
    return out


def _score(kind: Kind, v: _Values, hinted: bool) -> dict:
    counts = v.counts
    n = int(counts.sum())
    shaped = np.zeros(len(counts), dtype=bool)
    passed = np.zeros(len(counts), dtype=bool)
    checked = False
    used = []
    for shape in kind.shapes:
        if shape.needs_hint and not hinted:
            continue
        mask = _matches(shape, v) & ~shaped
        if not mask.any():
            continue
        used.append(shape.regex)
        shaped |= mask
        if shape.check is None:
            passed |= mask
            continue
        checked = True
        where = np.flatnonzero(mask)
        passed[where] = _check(shape, v.digits.take(pa.array(where)))
    shape_n = int(counts[shaped].sum())
    pass_n = int(counts[passed].sum())
    share = shape_n / n if n else 0.0
    evidence = 1.0
    facts: dict[str, Any] = {"share": round(share, 4), "patterns": used, "name_hint": hinted}
    if checked and shape_n:
        rate = pass_n / shape_n
        evidence = max(0.0, (rate - kind.random_pass) / (1 - kind.random_pass))
        facts["check_digit_pass_rate"] = round(rate, 4)
    confidence = share * evidence * kind.prior
    if kind.name == "person_name":
        distinct = len(counts)
        ratio = distinct / n if n else 0.0
        facts["distinct_values"], facts["distinct_ratio"] = distinct, round(ratio, 4)
        confidence *= min(1.0, distinct / min(50, 0.8 * n)) * min(1.0, ratio / 0.02)
    if hinted:
        confidence = min(1.0, confidence * 1.25)
    return {"confidence": round(confidence, 4), "matches": pass_n, "evidence": facts}


def _free_text(v: _Values, hints: set[str]) -> list[dict]:
    """Identifiers written inside longer text (notes, comments, addresses of contacts)."""
    out = []
    text, counts = v.text, v.counts
    # free text: long enough (〒NNN-NNNN), not one alphanumeric token (hex ids, codes) and not
    # one number (the decimals of 123.09012345678 are no phone number)
    token = pc.or_(
        pc.match_substring_regex(text, r"^[A-Za-z0-9]*$"), pc.match_substring_regex(text, _NUMBER)
    ).to_numpy(zero_copy_only=False)
    wordy = np.flatnonzero(~token & (v.text_len >= 7))
    if not wordy.size:
        return out
    for kind in KINDS:
        if kind.contains is None:
            continue
        mask = np.zeros(len(text), dtype=bool)
        hit = pc.match_substring_regex(text.take(pa.array(wordy)), kind.contains)
        mask[wordy] = hit.to_numpy(zero_copy_only=False)
        if not mask.any():
            continue
        rows = int(counts[mask].sum())
        facts: dict[str, Any] = {"mode": "inside_text", "pattern": kind.contains}
        confidence = 0.9
        if kind.name == "my_number":  # a 12-digit run is evidence only with its check digit
            runs = pc.extract_regex(text.filter(pa.array(mask)), kind.contains).field(0)
            runs = pc.replace_substring_regex(runs, r"[ -]", "")
            ok = my_number_ok(_digit_matrix(runs, 12))
            rows = int(counts[mask][ok].sum())
            rate = float(ok.mean())
            facts["check_digit_pass_rate"] = round(rate, 4)
            enough = rows >= 3 or kind.name in hints
            confidence = 0.8 if rate >= 0.9 and enough else 0.0
        if rows and confidence:
            out.append({"kind": kind, "matches": rows, "confidence": confidence, "evidence": facts})
    return out


def _distinct(values: pa.Array) -> _Values | None:
    """The distinct values as trimmed text with their counts; blank cells are missing.

    Counted before any text work, so casting, trimming and normalizing touch each distinct
    value once (values that differ only in surrounding blanks are merged after the trim).
    """
    tally = pc.value_counts(values.drop_null())
    raw = tally.field("values").cast(pa.string())
    trimmed = pc.utf8_trim_whitespace(raw)
    length = pc.utf8_length(trimmed)
    table = pa.table({"v": trimmed, "n": tally.field("counts")})
    # values that only differ in surrounding blanks are one value: merged when a trim cut any
    merge = pc.any(pc.not_equal(length, pc.utf8_length(raw))).as_py()
    table = table.filter(pc.greater(length, 0))
    if table.num_rows == 0:
        return None
    if merge:
        table = table.group_by("v").aggregate([("n", "sum")]).rename_columns(["v", "n"])
    return _Values.of(one_array(table.column("v")), table.column("n").to_numpy())


def scan_array(
    column: str, values: pa.Array | pa.ChunkedArray, min_confidence: float = MIN_CONFIDENCE
) -> list[Finding]:
    """Findings of one column (text or integers; other types do not carry identifiers).

    A chunked column is counted chunk by chunk (never joined: its distinct values are what the
    scan reads).
    """
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if not (
        pa.types.is_string(values.type)
        or pa.types.is_large_string(values.type)
        or pa.types.is_integer(values.type)
    ):
        return []
    text_column = not pa.types.is_integer(values.type)
    v = _distinct(values)
    if v is None:
        return []
    hints = name_hints(column)
    n = int(v.counts.sum())
    found = []
    for kind in KINDS:
        score = _score(kind, v, kind.name in hints)
        if score["confidence"] >= min_confidence:
            found.append({"kind": kind, **score})
    if not found and text_column:
        found = [f for f in _free_text(v, hints) if f["confidence"] >= min_confidence]
    return sorted(
        (
            Finding(
                column=column,
                kind=f["kind"].name,
                category=f["kind"].category,
                matches=f["matches"],
                rows_checked=n,
                confidence=f["confidence"],
                evidence=f["evidence"],
            )
            for f in found
        ),
        key=lambda f: -f.confidence,
    )


def scan_table(
    table: pa.Table,
    columns: list[str] | None = None,
    sample: int | None = None,
    seed: int = 0,
    min_confidence: float = MIN_CONFIDENCE,
) -> tuple[list[Finding], int]:
    """Scan ``columns`` (default: all) of a table, on a seeded sample of ``sample`` rows.

    Returns:
        The findings (most confident first within a column) and the number of rows scanned.

    """
    if sample is not None and table.num_rows > sample:
        rng = np.random.default_rng(seed)
        table = table.take(pa.array(np.sort(rng.choice(table.num_rows, sample, replace=False))))
    findings: list[Finding] = []
    for name in columns or table.column_names:
        findings += scan_array(name, table.column(name), min_confidence)
    return findings, table.num_rows
