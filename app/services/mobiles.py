"""Mobile numbers: the one reading of what a customer typed or a gateway sent, on Google's
libphonenumber data (``phonenumbers``).

- ``msisdn``: the form stored and sent, E.164 digits without the "+" ("8613800138000"): surveys,
  opt-outs, the VIP roster, replies from the SMS gateways (any country).
- ``mainland_mobile``: the 11-digit national form a ticket, a one-time code or an appointment keeps
  ("13800138000"): a mainland mobile only; blank is no number.

Both refuse with ``BadMsisdn`` (422 ``mobile_invalid``, naming ``mobile``) saying why. A mainland
number must be one the numbering plan gives to mobiles (13x–19x as allocated), not merely eleven
digits starting with 1. Other countries' numbers must be possible ones (8 to 15 digits).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from ..domain.survey import BadMsisdn

_SEPARATORS = re.compile(r"[\s\-.()/]")
_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
MAINLAND = 86


def msisdn(raw: str | None, default_country: str = "86") -> str:
    """E.164 digits without the "+". Accepted: "+86 138 0013 8000", "0086 13800138000",
    "8613800138000", "13800138000" (national, in ``default_country``), full-width digits, spaces,
    dashes, dots and brackets; "+44 (0)7700 900123" (the bracketed trunk 0 is dialled at home only)."""
    if not (
        isinstance(default_country, str)
        and default_country.isdigit()
        and 1 <= len(default_country) <= 3
        and default_country[0] != "0"
    ):
        raise ValueError(f"default_country must be a country calling code such as 86, not {default_country!r}")
    if raw is None or not isinstance(raw, str):
        raise BadMsisdn("no mobile number given", field="mobile")
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw).replace("(0)", ""))
    if not text:
        raise BadMsisdn("the mobile number is empty", field="mobile")
    international = text.startswith(("+", "00"))
    digits = text[1:] if text.startswith("+") else text[2:] if text.startswith("00") else text
    if not digits:
        raise BadMsisdn(f"{raw!r} has no digits", field="mobile")
    if not digits.isascii() or not digits.isdigit():  # letters are no vanity number here
        raise BadMsisdn(f"{raw!r} has characters other than digits", field="mobile")
    if not international and default_country == "86" and digits.startswith("86") and len(digits) == 13:
        international = True  # 8613800138000: already with the country code
    region = phonenumbers.region_code_for_country_code(int(default_country))
    try:
        number = phonenumbers.parse("+" + digits if international else digits, None if international else region)
    except NumberParseException:
        number = None
    if number is None or not 8 <= len(f"{number.country_code}{number.national_number}") <= 15:
        if (number is not None and number.country_code == MAINLAND) or (not international and default_country == "86"):
            raise BadMsisdn(f"{raw!r} is not a mainland mobile number (11 digits starting 13-19)", field="mobile")
        raise BadMsisdn(f"{raw!r} has {len(digits)} digits with its country code; E.164 allows 8 to 15", field="mobile")
    if number.country_code == MAINLAND:
        if not (phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE):
            raise BadMsisdn(f"{raw!r} is not a mainland mobile number (11 digits starting 13-19)", field="mobile")
    elif not phonenumbers.is_possible_number(number):
        raise BadMsisdn(f"{raw!r} is not a possible number of country {number.country_code}", field="mobile")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]


def mainland_mobile(raw: str | None) -> str | None:
    """The 11-digit national form of a mainland mobile; None when nothing was given."""
    if raw is None or str(raw).strip() == "":
        return None
    digits = msisdn(str(raw))
    if not digits.startswith(str(MAINLAND)):
        raise BadMsisdn(f"{raw!r} is not a mainland mobile number (11 digits starting 13-19)", field="mobile")
    return digits[len(str(MAINLAND)) :]
