"""Mobile numbers (services.mobiles, on libphonenumber's data): the one reading of a typed or
received number, stored as E.164 digits; a ticket's as the 11-digit mainland form."""
import pytest

from app.domain.errors import Invalid
from app.domain.survey import BadMsisdn
from app.services.mobiles import mainland_mobile, msisdn


@pytest.mark.parametrize("raw", ["+86 138 0013 8000", "8613800138000", "13800138000", "0086 13800138000",
                                 "138-0013-8000", "１３８００１３８０００", "+86(138)00138000"])
def test_a_mainland_mobile_is_stored_with_its_country_code_and_no_plus(raw):
    assert msisdn(raw) == "8613800138000"


def test_other_countries_keep_their_code_and_lose_the_trunk_zero():
    assert msisdn("+44 (0)7700 900123") == "447700900123"
    assert msisdn("07700 900123", default_country="44") == "447700900123"
    assert msisdn("+852 9123 4567") == "85291234567"


@pytest.mark.parametrize(("raw", "why"), [
    ("", "empty"),
    (None, "no mobile number"),
    ("abc", "other than digits"),
    ("138001380OO", "other than digits"),
    ("+", "no digits"),
    ("12345", "not a mainland mobile"),
    ("+86 010 1234 5678", "not a mainland mobile"),
    ("1380013800", "not a mainland mobile"),
    ("+1 23", "E.164 allows 8 to 15"),
    ("+1234567890123456", "E.164 allows 8 to 15"),
])
def test_junk_numbers_are_refused_saying_why(raw, why):
    with pytest.raises(BadMsisdn) as caught:
        msisdn(raw)
    assert why in str(caught.value) and caught.value.field == "mobile"
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, Invalid)


def test_a_bad_default_country_is_a_programming_error():
    with pytest.raises(ValueError, match="default_country"):
        msisdn("13800138000", default_country="+86")


@pytest.mark.parametrize("raw", ["15400138000", "12345678901", "10000000000", "11000000000"])
def test_eleven_digits_starting_with_1_are_not_enough_the_numbering_plan_decides(raw):
    with pytest.raises(BadMsisdn, match="not a mainland mobile"):
        msisdn(raw)
    with pytest.raises(BadMsisdn):
        mainland_mobile(raw)


@pytest.mark.parametrize("raw", ["13800138000", "+86 138-0013-8000", "19912345678", "16612345678", "14712345678"])
def test_a_ticket_keeps_the_eleven_digit_mainland_form(raw):
    assert mainland_mobile(raw) == "".join(ch for ch in raw if ch.isdigit())[-11:]


def test_no_number_is_none_and_another_countrys_is_refused_for_a_ticket():
    assert mainland_mobile(None) is None and mainland_mobile("  ") is None
    with pytest.raises(BadMsisdn) as caught:
        mainland_mobile("+852 9123 4567")
    assert caught.value.code == "mobile_invalid" and caught.value.field == "mobile"
