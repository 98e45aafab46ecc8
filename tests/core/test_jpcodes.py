import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.jpcodes import (
    corporate_number_check_digit,
    insurer_check_digit,
    is_valid_corporate_number,
    is_valid_insurer_number,
    is_valid_jis6,
    is_valid_licence,
    is_valid_my_number,
    jis_check_digit,
    licence_check_digit,
    my_number_check_digit,
    normalize_digits,
)


def digit_strings(n: int) -> st.SearchStrategy[str]:
    return st.lists(st.integers(0, 9), min_size=n, max_size=n).map(lambda ds: "".join(map(str, ds)))


digits = digit_strings(11)
MY_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


# --- JIS X 0402 --------------------------------------------------------------------------------

# Published 6-digit local government codes (designated cities, Tokyo wards, Sapporo).
PUBLISHED_JIS6 = [
    "011002",  # Sapporo
    "131016",  # Chiyoda, Tokyo
    "131032",  # Minato, Tokyo
    "141003",  # Yokohama
    "141305",  # Kawasaki
    "231002",  # Nagoya
    "261009",  # Kyoto
    "271004",  # Osaka
    "281000",  # Kobe
    "401307",  # Fukuoka
    "431001",  # Kumamoto
]


@pytest.mark.parametrize("code", PUBLISHED_JIS6)
def test_published_jis_codes(code):
    assert jis_check_digit(code[:5]) == int(code[5])
    assert is_valid_jis6(code)


def test_jis_known_values():
    assert jis_check_digit("13101") == 6
    assert jis_check_digit("01100") == 2


@pytest.mark.parametrize("code", ["131017", "13101", "1310160", "481001", "001009", "", "abcdef"])
def test_invalid_jis(code):
    assert not is_valid_jis6(code)


def test_jis_full_width():
    assert is_valid_jis6("１３１０１６")


# --- My Number ---------------------------------------------------------------------------------


def test_my_number_known():
    assert my_number_check_digit("12345678901") == 8
    assert is_valid_my_number("123456789018")
    assert not is_valid_my_number("123456789017")
    # r = 0 and r = 1 both give check digit 0
    assert my_number_check_digit("00000000000") == 0
    assert my_number_check_digit("00000000006") == 0


@pytest.mark.parametrize(
    "text",
    [
        "1234-5678-9018",
        "1234 5678 9018",
        "１２３４５６７８９０１８",
        "１２３４－５６７８－９０１８",
        "１２３４　５６７８　９０１８",
        " 123456789018\n",
    ],
)
def test_my_number_normalisation(text):
    assert normalize_digits(text) == "123456789018"
    assert is_valid_my_number(text)


@pytest.mark.parametrize(
    "value",
    ["12345678901", "1234567890180", "12345678901a", "", None, 123456789018, "١٢٣٤٥٦٧٨٩٠١٨"],
)
def test_my_number_rejects(value):
    assert not is_valid_my_number(value)


@pytest.mark.parametrize(
    "bad", ["1234567890", "123456789012", "1234567890a", "１２３４５６７８９０１"]
)
def test_check_digit_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        my_number_check_digit(bad)


@settings(database=None)
@given(digits)
def test_my_number_round_trip(body):
    assert is_valid_my_number(body + str(my_number_check_digit(body)))


@settings(database=None)
@given(digits, st.integers(0, 11), st.integers(1, 9))
def test_my_number_single_digit_change_is_detected(body, position, delta):
    number = body + str(my_number_check_digit(body))
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    if position == 11:
        assert not is_valid_my_number(changed)
        return

    def remainder(s: str) -> int:
        return sum(int(d) * w for d, w in zip(s[:11], MY_NUMBER_WEIGHTS, strict=True)) % 11

    # The only blind spot of the formula: remainders 0 and 1 share check digit 0.
    blind_spot = {remainder(number), remainder(changed)} == {0, 1}
    assert is_valid_my_number(changed) == blind_spot


def test_my_number_blind_spot_example():
    assert is_valid_my_number("000000000000")
    assert is_valid_my_number("000000000060")


# --- corporate number --------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["7000012050002", "1000011000005", "1180301018771"])
def test_corporate_number_published(number):
    assert corporate_number_check_digit(number[1:]) == int(number[0])
    assert is_valid_corporate_number(number)


def test_corporate_number_full_width():
    assert is_valid_corporate_number("７００００１２０５０００２")
    assert is_valid_corporate_number("7-0000-1205-0002")


def test_corporate_number_invalid():
    assert not is_valid_corporate_number("8000012050002")
    assert not is_valid_corporate_number("700001205000")
    assert not is_valid_corporate_number(None)


@settings(database=None)
@given(digit_strings(12))
def test_corporate_round_trip(body):
    c = corporate_number_check_digit(body)
    assert 1 <= c <= 9
    assert is_valid_corporate_number(str(c) + body)


# --- driver's licence --------------------------------------------------------------------------


def test_licence_check_digit_formula():
    # 1*5 + 2*4 + 3*3 + 4*2 + 5*7 + 6*6 + 7*5 + 8*4 + 9*3 + 0*2 = 195; 195 % 11 = 8; 11 - 8 = 3
    assert licence_check_digit("1234567890") == 3
    assert is_valid_licence("123456789030")
    assert is_valid_licence("123456789032")  # reissue count is not checked
    assert not is_valid_licence("123456789040")
    assert not is_valid_licence("12345678903")
    # sum % 11 == 0 -> (11 - 0) % 10 == 1
    assert licence_check_digit("0000000000") == 1


@settings(database=None)
@given(digit_strings(10), st.integers(0, 9))
def test_licence_round_trip(first10, reissue):
    assert is_valid_licence(f"{first10}{licence_check_digit(first10)}{reissue}")


# --- insurer number ----------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["01130012", "01270016", "131011"])
def test_insurer_known(number):
    assert insurer_check_digit(number[:-1]) == int(number[-1])
    assert is_valid_insurer_number(number)


@pytest.mark.parametrize("number", ["01130013", "0113001", "1310112", "", "0113001a"])
def test_insurer_invalid(number):
    assert not is_valid_insurer_number(number)


def test_insurer_check_digit_rejects_empty():
    with pytest.raises(ValueError):
        insurer_check_digit("")
