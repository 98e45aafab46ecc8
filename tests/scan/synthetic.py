"""Generated identifier columns and look-alike decoys: the scanner's recall and precision.

Every identifier is fake but well-formed (valid check digits where the kind has one); every decoy
is a column that must NOT be reported: random numbers of identifier lengths with wrong or random
check digits, money amounts, dates, municipality codes, category labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.jpcodes import (
    corporate_number_check_digit,
    insurer_check_digit,
    jis_check_digit,
    licence_check_digit,
    my_number_check_digit,
)

_SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "山下",
    "中島",
    "石井",
    "小川",
    "前田",
    "岡田",
    "長谷川",
    "藤田",
    "後藤",
    "近藤",
    "村上",
    "遠藤",
    "青木",
    "坂本",
]
_GIVEN = [
    "翔太",
    "大輝",
    "健太",
    "拓也",
    "直樹",
    "陽菜",
    "結衣",
    "美咲",
    "さくら",
    "愛",
    "裕子",
    "恵子",
    "和子",
    "誠",
    "隆",
    "浩",
    "優斗",
    "蓮",
    "葵",
    "花子",
    "太郎",
    "次郎",
    "明美",
    "真由美",
    "由美",
    "翼",
    "悠真",
    "湊",
    "陽翔",
    "芽依",
]
_ROMAJI_S = [
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Ito",
    "Watanabe",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
    "Kato",
    "Yoshida",
    "Yamada",
    "Sasaki",
    "Yamaguchi",
    "Matsumoto",
    "Inoue",
    "Kimura",
    "Hayashi",
    "Saito",
    "Shimizu",
    "Yamazaki",
    "Mori",
    "Ikeda",
    "Hashimoto",
    "Abe",
    "Ishikawa",
    "Yamashita",
    "Nakajima",
    "Ishii",
    "Ogawa",
]
_ROMAJI_G = [
    "Shota",
    "Daiki",
    "Kenta",
    "Takuya",
    "Naoki",
    "Hina",
    "Yui",
    "Misaki",
    "Sakura",
    "Ai",
    "Yuko",
    "Keiko",
    "Makoto",
    "Takashi",
    "Hiroshi",
    "Yuto",
    "Ren",
    "Aoi",
    "Hanako",
    "Taro",
    "Jiro",
    "Akemi",
    "Mayumi",
    "Yumi",
    "Tsubasa",
    "Yuma",
    "Minato",
    "Haruto",
    "Mei",
    "Kazuko",
]
_PREFS = [
    "北海道",
    "青森県",
    "東京都",
    "神奈川県",
    "大阪府",
    "京都府",
    "愛知県",
    "福岡県",
    "沖縄県",
    "広島県",
]
_CITIES = [
    "札幌市中央区",
    "八戸市",
    "千代田区",
    "横浜市港北区",
    "堺市",
    "宇治市",
    "豊田市",
    "久留米市",
]


def _digits(rng: np.random.Generator, n: int, width: int) -> list[str]:
    return ["".join(map(str, row)) for row in rng.integers(0, 10, (n, width))]


def identifiers(n: int, seed: int = 0) -> dict[str, pd.Series]:
    """One column per kind (named after the kind), ``n`` well-formed values each."""
    rng = np.random.default_rng(seed)
    my = [b + str(my_number_check_digit(b)) for b in _digits(rng, n, 11)]
    styles = rng.integers(0, 3, n)
    my = [
        m if s == 0 else f"{m[:4]}-{m[4:8]}-{m[8:]}" if s == 1 else f"{m[:4]} {m[4:8]} {m[8:]}"
        for m, s in zip(my, styles, strict=True)
    ]
    corp = [str(corporate_number_check_digit(b)) + b for b in _digits(rng, n, 12)]
    lic = [f + str(licence_check_digit(f)) + str(rng.integers(0, 3)) for f in _digits(rng, n, 10)]
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))
    two = ["".join(p) for p in rng.choice(letters, (n, 2))]
    passport = [a + b for a, b in zip(two, _digits(rng, n, 7), strict=True)]
    card = [
        a + b + "".join(rng.choice(letters, 2))
        for a, b in zip(two, _digits(rng, n, 8), strict=True)
    ]  # noqa: E501
    pension = [f"{d[:4]}-{d[4:]}" for d in _digits(rng, n, 10)]
    insurer = [b + str(insurer_check_digit(b)) for b in _digits(rng, n, 7)]
    mid = _digits(rng, n, 8)
    phone = [
        f"0{p}0-{d[:4]}-{d[4:]}" if k else f"03-{d[:4]}-{d[4:]}"
        for p, d, k in zip(rng.choice([7, 8, 9], n), mid, rng.integers(0, 4, n), strict=True)
    ]
    postal = [
        f"〒{d[:3]}-{d[3:7]}" if k else f"{d[:3]}-{d[3:7]}"
        for d, k in zip(mid, rng.integers(0, 2, n), strict=True)
    ]
    email = [
        f"user{d[:6]}@example.{'jp' if k else 'com'}"
        for d, k in zip(mid, rng.integers(0, 2, n), strict=True)
    ]
    kanji = [f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}" for _ in range(n)]
    romaji = [f"{rng.choice(_ROMAJI_G)} {rng.choice(_ROMAJI_S)}" for _ in range(n)]
    address = [
        f"{rng.choice(_PREFS)}{rng.choice(_CITIES)}{rng.choice(['本町', '栄町', '緑が丘'])}"
        f"{rng.integers(1, 9)}丁目{rng.integers(1, 30)}-{rng.integers(1, 20)}"
        for _ in range(n)
    ]
    notes = [
        f"連絡先は{p}です。" if k == 0 else "特記事項なし" if k == 1 else "訪問時に不在、再訪予定"
        for p, k in zip(phone, rng.integers(0, 5, n), strict=True)
    ]
    full_width = [m.translate(str.maketrans("0123456789-", "０１２３４５６７８９－")) for m in my]
    return {
        "my_number": pd.Series(my),
        "my_number_full_width": pd.Series(full_width),
        "corporate_number": pd.Series(corp),
        "drivers_licence": pd.Series(lic),
        "passport": pd.Series(passport),
        "residence_card": pd.Series(card),
        "pension_number": pd.Series(pension),
        "insurer_number": pd.Series(insurer),
        "phone": pd.Series(phone),
        "postal_code": pd.Series(postal),
        "email": pd.Series(email),
        "person_name": pd.Series(kanji),
        "person_name_romaji": pd.Series(romaji),
        "address": pd.Series(address),
        "notes_with_phone": pd.Series(notes),
    }


EXPECTED_KIND = {
    "my_number_full_width": "my_number",
    "person_name_romaji": "person_name",
    "notes_with_phone": "phone",
}


def decoys(n: int, seed: int = 0) -> dict[str, pd.Series]:
    """Columns that look like identifiers but are not (none may be reported)."""
    rng = np.random.default_rng(seed + 1)
    bodies = _digits(rng, n, 11)
    wrong = [b + str((my_number_check_digit(b) + int(rng.integers(1, 10))) % 10) for b in bodies]
    jis5 = [
        f"{int(p):02d}{int(c):03d}"
        for p, c in zip(rng.integers(1, 48, n), rng.integers(100, 500, n), strict=True)
    ]  # noqa: E501
    dates = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 27000, n), unit="D")
    labels = ["事務 従事者", "販売 従事者", "専門 技術", "農林 漁業", "運搬 清掃"]
    return {
        "random_12_wrong_check": pd.Series(wrong),
        "random_12_digits": pd.Series(_digits(rng, n, 12)),
        "random_13_digits": pd.Series(_digits(rng, n, 13)),
        "random_8_digits": pd.Series(_digits(rng, n, 8)),
        "amount_yen": pd.Series(rng.integers(0, 10**9, n)),
        "amount_12_digit_yen": pd.Series(rng.integers(10**11, 10**12, n)),
        "amount_text": pd.Series([f"{v:,}" for v in rng.integers(0, 10**9, n)]),
        "price": pd.Series(rng.uniform(0, 1e6, n).round(2)),
        "date_iso": pd.Series(dates.strftime("%Y-%m-%d")),
        "date_compact": pd.Series(dates.strftime("%Y%m%d")),
        "municipality_code": pd.Series(jis5),
        "municipality_code6": pd.Series([c + str(jis_check_digit(c)) for c in jis5]),
        "occupation_label": pd.Series(rng.choice(labels, n)),
        "age": pd.Series(rng.integers(0, 100, n)),
        "sex": pd.Series(rng.choice(["1", "2"], n)),
        "product_code": pd.Series([f"P{d[:6]}" for d in _digits(rng, n, 6)]),
        "surrogate_token": pd.Series([bytes(b).hex() for b in rng.integers(0, 256, (n, 12))]),
    }
