"""Seeded generator of a synthetic, census-like sample of Japanese microdata.

Every value is fictitious: names come from short lists of common names, identification numbers
are random (with valid check digits), e-mail addresses use reserved ``example.*`` domains. The
only real data are the JIS X 0402 municipality codes and names bundled in ``pipeline/data``.
All text can be encoded in cp932 (Shift_JIS).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from pipeline.core.jpcodes import licence_check_digit, my_number_check_digit

DEFAULT_SEED = 20261122
COLUMNS = (
    "name",
    "address",
    "phone",
    "email",
    "my_number",
    "drivers_licence",
    "member_id",
    "household_id",
    "age",
    "sex",
    "municipality",
    "occupation",
    "household_size",
    "income",
    "weight",
)
_DATA = Path(__file__).resolve().parent.parent / "data"


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Parse ``"kanji:romaji kanji:romaji ..."`` into (kanji, romaji) pairs."""
    return tuple((k, r) for k, r in (item.split(":") for item in text.split()))


SURNAMES = _pairs(
    "佐藤:sato 鈴木:suzuki 高橋:takahashi 田中:tanaka 伊藤:ito 渡辺:watanabe 山本:yamamoto "
    "中村:nakamura 小林:kobayashi 加藤:kato 吉田:yoshida 山田:yamada 佐々木:sasaki 山口:yamaguchi "
    "松本:matsumoto 井上:inoue 木村:kimura 林:hayashi 斎藤:saito 清水:shimizu 山崎:yamazaki "
    "森:mori 池田:ikeda 橋本:hashimoto 阿部:abe 石川:ishikawa 山下:yamashita 中島:nakajima "
    "石井:ishii 小川:ogawa "
)
MALE_NAMES = _pairs(
    "翔太:shota 大輔:daisuke 健太:kenta 拓也:takuya 蓮:ren 大翔:hiroto 悠真:yuma 陽翔:haruto "
    "湊:minato 誠:makoto 浩:hiroshi 茂:shigeru 隆:takashi 健一:kenichi 直樹:naoki 和也:kazuya "
    "亮:ryo 清:kiyoshi 修:osamu 悠斗:yuto "
)
FEMALE_NAMES = _pairs(
    "陽菜:hina 結衣:yui 葵:aoi 美咲:misaki 桜:sakura 愛:ai 彩:aya 恵子:keiko 幸子:sachiko "
    "洋子:yoko 和子:kazuko 裕子:yuko 真由美:mayumi 明美:akemi 由美:yumi 直美:naomi 芽依:mei 凛:rin "
    "紬:tsumugi 久美子:kumiko "
)
_TOWNS = (
    "本町",
    "中央",
    "栄町",
    "緑町",
    "旭町",
    "幸町",
    "錦町",
    "東町",
    "西町",
    "南町",
    "新町",
    "若葉",
    "桜木町",
    "大手町",
    "朝日町",
)
_MAIL_DOMAINS = ("example.jp", "example.com", "example.ne.jp", "example.co.jp", "example.org")
_AREA_CODES = {
    "01": "011",
    "04": "022",
    "13": "03",
    "14": "045",
    "23": "052",
    "26": "075",
    "27": "06",
    "28": "078",
    "34": "082",
    "40": "092",
}

# Major groups of the Japanese Standard Occupational Classification (JSOC, 2009 revision).
MAJOR_GROUPS = {
    "A": "管理的職業従事者",
    "B": "専門的・技術的職業従事者",
    "C": "事務従事者",
    "D": "販売従事者",
    "E": "サービス職業従事者",
    "F": "保安職業従事者",
    "G": "農林漁業従事者",
    "H": "生産工程従事者",
    "I": "輸送・機械運転従事者",
    "J": "建設・採掘従事者",
    "K": "運搬・清掃・包装等従事者",
    "L": "分類不能の職業",
}
# Minor codes are JSOC middle-group numbers (a subset for B and H). In group L only 99 is a
# JSOC code; L97 (not stated) and L98 (no occupation) are placeholders of this project.
_GROUP_CODES = {
    "A": (1, 2, 3, 4),
    "B": (5, 9, 10, 11, 12, 13, 14, 19),
    "C": tuple(range(25, 32)),
    "D": (32, 33, 34),
    "E": tuple(range(35, 43)),
    "F": (43, 44, 45),
    "G": (46, 47, 48),
    "H": tuple(range(49, 57)),
    "I": tuple(range(60, 65)),
    "J": tuple(range(65, 70)),
    "K": tuple(range(70, 74)),
    "L": (97, 98, 99),
}
OCCUPATION_HIERARCHY: tuple[tuple[str, str, str], ...] = tuple(
    (f"{g}{n:02d}", g, "*") for g, nums in _GROUP_CODES.items() for n in nums
)
# Share of workers by major group (roughly the 2020 census); L = L99 only.
_GROUP_SHARE = {
    "A": 2,
    "B": 17,
    "C": 21,
    "D": 12,
    "E": 12,
    "F": 2,
    "G": 3,
    "H": 13,
    "I": 4,
    "J": 5,
    "K": 7,
    "L": 2,
}

_SIZE_P = (0.36, 0.28, 0.17, 0.125, 0.04, 0.014, 0.005, 0.003, 0.002, 0.001)
# Population share by 5-year age band 0-4 ... 95-99 (rough Japanese pyramid, per mille).
_BAND_P = np.array(
    [37, 40, 43, 44, 48, 50, 52, 59, 65, 78, 76, 65, 60, 66, 75, 58, 47, 33, 16, 5], dtype=float
)


@functools.lru_cache(maxsize=1)
def _municipalities() -> pd.DataFrame:
    """Load the municipalities a household may live in, with selection probabilities.

    Whole-city rows of designated cities that have wards (e.g. 14100 Yokohama) are dropped;
    wards weigh 8, other cities 3, towns and villages 0.7.
    """
    m = pd.read_csv(_DATA / "jp_municipalities.csv", dtype=str, keep_default_na=False)
    p = pd.read_csv(_DATA / "jp_prefectures.csv", dtype=str, keep_default_na=False)
    m = m.merge(p[["pref_code", "name_ja"]], left_on="prefecture_id", right_on="pref_code")
    key, no_ward = m["prefecture_id"] + m["city_ja"], m["special_district_ja"] == ""
    whole_city = no_ward & key.isin(key[~no_ward])
    m = m.loc[~whole_city].sort_values("id").reset_index(drop=True)
    local = m["id"].str[2:].astype(int)
    w = np.where(local < 200, 8.0, np.where(local < 300, 3.0, 0.7))
    m["p"] = w / w.sum()
    m["place"] = m["name_ja"] + m["city_ja"] + m["special_district_ja"]
    return m


def _household_sizes(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Draw whole households until ``rows`` people exist; truncate the last one."""
    if rows == 0:
        return np.zeros(0, dtype=np.int64)
    draws = rng.choice(np.arange(1, 11), size=rows, p=_SIZE_P)
    cum = np.cumsum(draws)
    k = int(np.searchsorted(cum, rows))
    sizes = draws[: k + 1].copy()
    sizes[-1] -= cum[k] - rows
    return sizes


def _ages_and_sexes(
    rng: np.random.Generator, sizes: np.ndarray, hh: np.ndarray, pos: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ages and sexes: head, spouse, children, a co-resident parent or grandchildren."""
    n, n_hh, p = len(hh), len(sizes), _BAND_P[4:] / _BAND_P[4:].sum()  # heads are 20-99
    head_age = (20 + 5 * rng.choice(16, size=n_hh, p=p) + rng.integers(0, 5, n_hh))[hh]
    head_male = (rng.random(n_hh) < 0.5)[hh]
    u, v = rng.random(n), rng.random(n)
    spouse = (pos == 1) & (u < 0.7)
    lo = np.maximum(head_age - 45, 0)
    child = lo + (v * (np.maximum(head_age - 20, lo) - lo + 1)).astype(np.int64)
    parent = np.minimum(head_age + rng.integers(22, 36, size=n), 99)
    grandchild = rng.integers(0, 21, size=n)
    spouse_age = np.clip(head_age + np.rint(rng.normal(0, 3, size=n)).astype(np.int64), 18, 99)
    w = rng.random(n)
    age = np.select(
        [pos == 0, spouse, (head_age < 50) & (w < 0.12), (head_age >= 60) & (w < 0.3)],
        [head_age, spouse_age, parent, grandchild],
        child,
    )
    male = np.where(pos == 0, head_male, np.where(spouse, ~head_male, rng.random(n) < 0.5))
    # About 0.1% centenarians and, from 100 rows on, exactly one person aged 116; all picked
    # among people living alone when there are enough of them.
    n_old, n_116 = round(n * 0.001), int(n >= 100)
    alone = np.flatnonzero(sizes[hh] == 1)
    pool = alone if len(alone) >= n_old + n_116 else np.arange(n)
    picked = rng.choice(pool, size=n_old + n_116, replace=False)
    age[picked[:n_old]] = rng.integers(100, 111, size=n_old)
    age[picked[n_old:]] = 116
    return age.astype(np.int64), np.where(male, "1", "2")


def _occupations(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Draw occupation codes; L97 not stated, L98 no occupation, L99 for children under 15."""
    codes = [c for c, g, _ in OCCUPATION_HIERARCHY if g != "L" or c == "L99"]
    size = {g: sum(1 for c in codes if c[0] == g) for g in _GROUP_SHARE}
    p = np.array([_GROUP_SHARE[c[0]] / size[c[0]] for c in codes])
    occ = rng.choice(np.array(codes), size=len(age), p=p / p.sum())
    u = rng.random(len(age))
    no_job = np.select([age < 18, age < 65], [u < 0.85, u < 0.15], u < 0.7)
    occ = np.where(no_job, "L98", occ)
    occ = np.where(rng.random(len(age)) < 0.02, "L97", occ)
    return np.where(age < 15, "L99", occ)


def _phones(rng: np.random.Generator, pref: np.ndarray) -> list[str]:
    """Draw mobile (090/080/070) or fixed-line numbers of 10 digits with a local area code."""
    n = len(pref)
    mobile = rng.random(n) < 0.75
    prefix = rng.choice(np.array(["090", "080", "070"]), size=n)
    generic = rng.choice([g for g in range(11, 100) if g % 10], size=n)  # no 020/050/070...
    a, b, c = rng.integers(1000, 10000, n), rng.integers(200, 1000, n), rng.integers(0, 10000, n)
    area = [_AREA_CODES.get(p, f"0{g}") for p, g in zip(pref, generic, strict=True)]
    return [
        f"{prefix[i]}-{a[i]}-{c[i]:04d}"
        if mobile[i]
        else f"{area[i]}-{a[i] if len(area[i]) == 2 else b[i]}-{c[i]:04d}"
        for i in range(n)
    ]


def _licences(rng: np.random.Generator, age: np.ndarray) -> list[str | None]:
    """Draw licence numbers: commission, year of issue, serial, check digit, reissue count."""
    n = len(age)
    has = (age >= 18) & (rng.random(n) < 0.8)
    commission = rng.integers(10, 100, size=n)
    year = np.minimum(2026 - age + 18 + rng.integers(0, 10, size=n), 2026) % 100
    serial = rng.integers(0, 10**6, size=n)
    reissue = rng.choice(3, size=n, p=[0.8, 0.15, 0.05])
    first10 = [f"{commission[i]:02d}{year[i]:02d}{serial[i]:06d}" for i in range(n)]
    return [
        f"{f}{licence_check_digit(f)}{r}" if h else None
        for f, r, h in zip(first10, reissue, has, strict=True)
    ]


def generate_census(rows: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate a synthetic census-like sample of people grouped in households.

    Households are drawn whole until ``rows`` people exist, then the last one is truncated.

    Args:
        rows: Exact number of rows (people) to return.
        seed: Seed of ``numpy.random.default_rng``; the same seed gives the same frame.

    Returns:
        A frame with the columns of :data:`COLUMNS`, in that order. Identification numbers and
        codes are strings; ``drivers_licence`` is missing for people without a licence.

    Raises:
        ValueError: If ``rows`` is negative.

    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    rng = np.random.default_rng(seed)
    sizes = _household_sizes(rng, rows)
    n_hh = len(sizes)
    hh = np.repeat(np.arange(n_hh), sizes)
    pos = np.arange(rows) - (np.cumsum(sizes) - sizes)[hh]
    age, sex = _ages_and_sexes(rng, sizes, hh, pos)

    muni = _municipalities()
    row = rng.choice(len(muni), size=n_hh, p=muni["p"].to_numpy())
    code = muni["id"].to_numpy()[row]
    town = rng.choice(np.array(_TOWNS), size=n_hh)
    cbg = rng.integers([1, 1, 1], [6, 31, 21], size=(n_hh, 3))
    place = muni["place"].to_numpy()[row]
    address = [f"{place[i]}{town[i]}{c[0]}丁目{c[1]}-{c[2]}" for i, c in enumerate(cbg)]

    surname = rng.integers(0, len(SURNAMES), size=n_hh)[hh]
    given = rng.integers(0, len(MALE_NAMES), size=rows)
    mail_style = rng.integers(0, 3, size=rows)
    mail_num = rng.integers(1, 10000, size=rows)
    domain = rng.choice(np.array(_MAIL_DOMAINS), size=rows)
    names, emails = [], []
    for i in range(rows):
        sur_ja, sur_en = SURNAMES[surname[i]]
        giv_ja, giv_en = (MALE_NAMES if sex[i] == "1" else FEMALE_NAMES)[given[i]]
        names.append(f"{sur_ja} {giv_ja}")
        local = (f"{giv_en}.{sur_en}", f"{sur_en}_{giv_en[0]}", f"{giv_en}{sur_en[:3]}")
        emails.append(f"{local[mail_style[i]]}{mail_num[i]}@{domain[i]}")

    phones = _phones(rng, np.array([c[:2] for c in code], dtype=object)[hh])
    bodies = rng.choice(10**11, size=rows, replace=False)
    first11 = [f"{b:011d}" for b in bodies]
    my_numbers = [f"{f}{my_number_check_digit(f)}" for f in first11]
    licences = _licences(rng, age)
    member = rng.choice(10**8, size=rows, replace=False)
    household = rng.choice(10**7, size=n_hh, replace=False)
    occupation = _occupations(rng, age)

    income = np.minimum(rng.lognormal(np.log(4e6), 0.6, size=rows), 5e7)
    income = np.where(age >= 65, income * 0.6, income)
    income = np.where(age < 18, 0, np.rint(income / 1000) * 1000).astype(np.int64)
    adults = np.flatnonzero((age >= 25) & (age <= 80))
    n_out = min(max(1, rows // 1000), len(adults)) if rows else 0
    rich = rng.choice(adults, size=n_out, replace=False)
    income[rich] = np.rint(10 ** rng.uniform(8, 9, size=n_out) / 1000).astype(np.int64) * 1000
    weight = np.round(rng.uniform(1000, 3000, size=n_hh), 2)

    values = (
        names,
        np.array(address, dtype=object)[hh],
        phones,
        emails,
        my_numbers,
        licences,
        [f"M{m:08d}" for m in member],
        [f"H{h:07d}" for h in household[hh]],
        age,
        sex,
        code[hh],
        occupation,
        sizes[hh].astype(np.int64),
        income,
        weight[hh],
    )
    return pd.DataFrame(dict(zip(COLUMNS, values, strict=True)))


def write_occupation_hierarchy(path: str | Path) -> Path:
    """Write the occupation hierarchy as an ARX-style CSV (``code;major_group;*``, no header).

    Args:
        path: Output file.

    Returns:
        The path (or handle) written to.

    """
    path = Path(path)
    text = "".join(";".join(r) + "\n" for r in OCCUPATION_HIERARCHY)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_census_csv(
    path: str | Path | TextIO, rows: int, seed: int = DEFAULT_SEED, encoding: str = "utf-8"
) -> str | Path | TextIO:
    """Write :func:`generate_census` ``(rows, seed)`` as CSV without index.

    Args:
        path: Output file, or an open text handle (its own encoding is used).
        rows: Number of rows.
        seed: Random seed.
        encoding: ``"utf-8"`` or ``"cp932"`` (every generated text is cp932-encodable).

    Returns:
        The path (or handle) written to.

    """
    target = path if hasattr(path, "write") else Path(path)
    generate_census(rows, seed).to_csv(target, index=False, encoding=encoding, lineterminator="\n")
    return target
