"""The normalized match keys: the fast paths give exactly what the general ones give."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from salespool.keys import _e164, _phone_key, phone_key, text_key

DIGITS = st.text(alphabet="0123456789", min_size=11, max_size=11)


def reference_text_key(value: str) -> str | None:
    """text_key as first written: NFKC, \\s+ collapsed to one space, stripped, case-folded."""
    key = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip().casefold()
    return key or None


@settings(max_examples=2000)
@given(st.text())
@example(" \x1c a\u3000\u2028b\x85 ")
def test_text_key_matches_the_regex_form(value):
    assert text_key(value) == reference_text_key(value)


@settings(max_examples=3000)
@given(DIGITS)
@example("13800138000")
@example("12345678901")
@example("19999999999")
@example("01234567890")
def test_the_eleven_digit_fast_path_is_the_general_path(value):
    assert phone_key(value) == _phone_key(value, "CN")


@settings(max_examples=3000)
@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_a_chinese_mobile_key_is_what_phonenumbers_gives(second, rest):
    number = "1" + second + rest
    # Known, kept from before: phonenumbers reads 179xx then a 0 as a carrier prefix
    # (IP dialling) and refuses the rest; the key is then +86 and the 11 digits.
    assume(not re.match(r"179\d\d0", number))
    parsed = phonenumbers.parse(number, "CN")
    assert phonenumbers.is_possible_number(parsed)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    for spelling in (
        number,
        "+86" + number,
        "0086" + number,
        "+86 " + number[:3] + " " + number[3:],
    ):
        assert phone_key(spelling) == e164
    # The slow path asks phonenumbers whether the number is valid, and it knows ranges
    # not yet given out (140...): phone_key takes every 1[3-9] mobile as valid anyway.
    assert _e164(number, "CN") in (e164, None)


def test_a_number_behind_a_carrier_prefix_keeps_its_mobile_key():
    assert _e164("17902009056", "CN") is None
    assert phone_key("17902009056") == "+8617902009056"
