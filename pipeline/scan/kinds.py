"""The kinds of identifier the scanner knows: value shapes, check digits and column-name hints.

Values are matched after Unicode NFKC normalisation (full-width digits, letters and hyphens
become ASCII). ``digits`` patterns see the value with hyphens and spaces removed; ``text``
patterns see the normalised value itself. Check digits are computed vectorised with numpy over
the candidates, with the formulas of :mod:`pipeline.core.jpcodes` (written once there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.core.jpcodes import corporate_digits, insurer_digits, licence_digits, my_number_digits

CheckFn = Callable[[np.ndarray], np.ndarray]


def my_number_ok(d: np.ndarray) -> np.ndarray:
    """Rows of a digit matrix (n x 12) whose last digit is the My Number check digit."""
    return my_number_digits(d[:, :11]) == d[:, 11]


def corporate_ok(d: np.ndarray) -> np.ndarray:
    """Rows (n x 13) whose first digit is the corporate-number check digit."""
    return corporate_digits(d[:, 1:]) == d[:, 0]


def licence_ok(d: np.ndarray) -> np.ndarray:
    """Rows (n x 12) whose 11th digit matches the (unofficial) licence check digit."""
    return licence_digits(d[:, :10]) == d[:, 10]


def insurer_ok(d: np.ndarray) -> np.ndarray:
    """Rows (n x 6 or n x 8) whose last digit is the Luhn-style insurer check digit."""
    return insurer_digits(d[:, :-1]) == d[:, -1]


@dataclass(frozen=True)
class Shape:
    """One way a kind is written.

    Attributes:
        regex: RE2 pattern matched against the whole value.
        on: ``digits`` (hyphens and spaces removed) or ``text`` (normalised value).
        needs_hint: Too weak alone: counts only when the column name hints at the kind.
        check: Vectorised check-digit test over a digit matrix (``digits`` shapes only).
        lengths: Lengths the matched string can have (a cheap filter before the regex).
        literal: A substring every match contains (a cheap filter before the regex).

    """

    regex: str
    on: str = "digits"
    needs_hint: bool = False
    check: CheckFn | None = None
    lengths: tuple[int, ...] = ()
    literal: str | None = None


@dataclass(frozen=True)
class Kind:
    """A kind of identifier.

    Attributes:
        name: Reported kind, e.g. ``my_number``.
        category: ``identification_code`` (APPI 個人識別符号), ``direct_identifier`` or
            ``corporate`` (not personal, reported because it is often mixed in).
        shapes: The ways it is written.
        hints: Lower-case fragments of column names that point to this kind.
        prior: How specific the shape is (1 = nothing else looks like it).
        random_pass: Chance that a random value of the right length passes the check digit.
        contains: RE2 pattern to find it inside free text (None: not searched in text).

    """

    name: str
    category: str
    shapes: tuple[Shape, ...]
    hints: tuple[str, ...]
    prior: float = 0.9
    random_pass: float = 0.1
    contains: str | None = None


_START, _END = r"(?:^|[^A-Za-z0-9])", r"(?:[^A-Za-z0-9]|$)"  # not inside a code or token
_KANA_HAN = r"[\p{Han}\p{Katakana}\p{Hiragana}ー々]"
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
KINDS: tuple[Kind, ...] = (
    Kind(
        "my_number",
        "identification_code",
        (Shape(r"^\d{12}$", check=my_number_ok, lengths=(12,)),),
        ("mynumber", "個人番号", "マイナンバー", "kojinbango", "individualnumber"),
        prior=1.0,
        contains=rf"{_START}(?P<run>\d{{4}}[ -]?\d{{4}}[ -]?\d{{4}}){_END}",
    ),
    Kind(
        "corporate_number",
        "corporate",
        (Shape(r"^\d{13}$", check=corporate_ok, lengths=(13,)),),
        ("corporatenumber", "法人番号", "hojinbango", "houjinbangou"),
    ),
    Kind(
        "drivers_licence",
        "identification_code",
        (Shape(r"^\d{12}$", check=licence_ok, lengths=(12,)),),
        ("licence", "license", "免許", "menkyo"),
        prior=0.8,
    ),
    Kind(
        "passport",
        "identification_code",
        (Shape(r"^[A-Z]{2}\d{7}$", on="text", lengths=(9,)),),
        ("passport", "旅券", "パスポート"),
    ),
    Kind(
        "residence_card",
        "identification_code",
        (Shape(r"^[A-Z]{2}\d{8}[A-Z]{2}$", on="text", lengths=(12,)),),
        ("residencecard", "在留", "zairyu"),
        prior=0.95,
    ),
    Kind(
        "pension_number",
        "identification_code",
        (
            Shape(r"^\d{4}-\d{6}$", on="text", lengths=(11,), literal="-"),
            Shape(r"^\d{10}$", needs_hint=True, lengths=(10,)),
        ),
        ("pension", "年金", "nenkin"),
    ),
    Kind(
        "insurer_number",
        "identification_code",
        (Shape(r"^(\d{8}|\d{6})$", check=insurer_ok, lengths=(6, 8)),),
        ("insurer", "保険者", "hokensha", "insurance"),
    ),
    Kind(
        "phone",
        "direct_identifier",
        (Shape(r"^0[5789]0\d{8}$", lengths=(11,)), Shape(r"^0[1-9]\d{8}$", lengths=(10,))),
        ("phone", "tel", "電話", "携帯", "mobile", "fax"),
        contains=rf"{_START}0[5789]0[-(]?\d{{4}}[-)]?\d{{4}}{_END}",
    ),
    Kind(
        "postal_code",
        "direct_identifier",
        (
            Shape(r"^〒?\s*\d{3}-\d{4}$", on="text", literal="-"),
            Shape(r"^〒?\d{7}$", needs_hint=True),
        ),
        ("postal", "zip", "郵便", "postcode", "yubin"),
        contains=r"〒\s*\d{3}-\d{4}",
    ),
    Kind(
        "email",
        "direct_identifier",
        (Shape(f"^{_EMAIL}$", on="text", literal="@"),),
        ("email", "mail", "メール"),
        prior=1.0,
        contains=_EMAIL,
    ),
    Kind(
        "address",
        "direct_identifier",
        (Shape(r"^.{0,12}?[都道府県].{0,30}?[市区町村郡].*\d", on="text"),),
        ("address", "住所", "addr", "jusho", "所在地"),
        prior=0.85,
    ),
    Kind(
        "person_name",
        "direct_identifier",
        (
            Shape(rf"^{_KANA_HAN}{{1,6}} {_KANA_HAN}{{1,6}}$", on="text", literal=" "),
            Shape(r"^[A-Z][a-z]+ [A-Z][a-z]+$|^[A-Z]+ [A-Z][a-z]+$", on="text", literal=" "),
            Shape(rf"^{_KANA_HAN}{{2,8}}$", on="text", needs_hint=True),
        ),
        ("name", "氏名", "名前", "shimei", "namae", "フリガナ", "furigana", "kana"),
        prior=0.7,
    ),
)
BY_NAME = {k.name: k for k in KINDS}
