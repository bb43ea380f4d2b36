"""Processor tokens: masked reprs (T2), brand and last four only (T3), one account (I5)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    AuthorizationToken,
    CaptureToken,
    CardToken,
    ConnectorMismatch,
    InvalidInput,
    RefundToken,
    SavedInstrument,
)
from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.tokens import ProcessorToken, mask
from ocop.testing.strategies import card_tokens

token_values = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=40).map(
    "tok_{}".format
)
OTHER_KINDS: list[type[ProcessorToken]] = [AuthorizationToken, CaptureToken, RefundToken]


def _card(**changes: Any) -> CardToken:
    card = CardToken("tok_1234", "sim", "sa-1", brand="visa", last4="1234", expiry="2030-12")
    return attrs.evolve(card, **changes)


@given(card_tokens())
def test_a_card_token_repr_never_shows_its_value(card: CardToken) -> None:
    """repr of a card token shows four characters of its value and its length, never all of it."""
    assert card.value not in repr(card)
    assert repr(card) == (
        f"CardToken({card.display}, {card.value[:4]}…({len(card.value)}), sim/sa-1)"
    )


@pytest.mark.parametrize("kind", OTHER_KINDS)
@given(value=token_values)
def test_other_token_reprs_never_show_their_value(kind: type[ProcessorToken], value: str) -> None:
    """Authorization, capture and refund tokens mask their values in repr too."""
    token = kind(value, "sim", "sa-1")
    assert value not in repr(token)
    assert repr(token).startswith(f"{kind.__name__}({value[:4]}…")


@given(card_tokens())
def test_a_saved_instrument_repr_masks_its_card(card: CardToken) -> None:
    """A saved instrument's repr shows its card as brand and last four, not the token value."""
    instrument = SavedInstrument(instrument_id="PI-1", customer_id="C-1", card=card)
    assert card.value not in repr(instrument)
    assert instrument.display == card.display


@given(st.text(max_size=40))
def test_mask_keeps_at_most_four_characters(value: str) -> None:
    """mask() shows at most the first four characters, and nothing of a value of four or fewer."""
    masked = mask(value)
    if len(value) > 4:
        assert masked == f"{value[:4]}…({len(value)})"
    else:
        assert masked == "…"


@given(card_tokens())
def test_a_card_is_shown_as_brand_and_last_four(card: CardToken) -> None:
    """display is "BRAND ****1234": upper-case brand, four stars, the last four digits (T3)."""
    assert card.display == f"{card.brand.upper()} ****{card.last4}"


def test_display_of_a_visa_card() -> None:
    """A visa token ending 1234 displays as VISA ****1234."""
    assert _card().display == "VISA ****1234"


@pytest.mark.parametrize("last4", ["123", "12345", "12a4", "", " 123", "1234\n"])
def test_last4_must_be_exactly_four_digits(last4: str) -> None:
    """A last4 that is not exactly four digits raises InvalidInput."""
    with pytest.raises(InvalidInput):
        _card(last4=last4)


@pytest.mark.parametrize("expiry", ["2030-13", "2030-00", "2030-1", "30-12", "12/30", "2030-12-01"])
def test_expiry_must_be_year_dash_month(expiry: str) -> None:
    """An expiry that is not YYYY-MM with a month from 01 to 12 raises InvalidInput."""
    with pytest.raises(InvalidInput):
        _card(expiry=expiry)


def test_expiry_is_optional_and_never_expires_when_absent() -> None:
    """A card without expiry is never expired; one with expiry expires after its month."""
    assert not _card(expiry=None).expired_on(2999, 12)
    assert not _card(expiry="2030-12").expired_on(2030, 12)
    assert _card(expiry="2030-12").expired_on(2031, 1)


@pytest.mark.parametrize("field", ["value", "connector", "service_account", "brand"])
@pytest.mark.parametrize("empty", ["", "   "])
def test_token_text_fields_must_not_be_blank(field: str, empty: str) -> None:
    """A blank value, connector, service account or brand raises InvalidInput."""
    with pytest.raises(InvalidInput):
        _card(**{field: empty})


@pytest.mark.parametrize("field", ["value", "connector", "service_account", "brand"])
def test_an_over_long_token_field_is_refused_without_being_scanned_or_cached(field: str) -> None:
    """E1, T2: a token's value, connector, service account or brand over 512 characters is
    refused before the card scan, as an over-long id or note is: a token's value can come
    from a shopper's browser, and a megabyte of "1 1 1 ..." took about a minute to scan
    (some 90 microseconds per digit group) and stayed in the scan's cache. Before, the
    scan ran first and only then the length was refused."""
    _card()  # the other fields are scanned (and cached) once
    before = contains_card_number.cache_info().currsize
    with pytest.raises(InvalidInput, match="at most 512"):
        _card(**{field: f"{field} " + "1 " * 5000})
    assert contains_card_number.cache_info().currsize == before


@given(card_tokens(), token_values)
def test_tokens_of_the_same_account_work_together(card: CardToken, value: str) -> None:
    """A capture token of the card's connector and service account passes rule I5."""
    capture = CaptureToken(value, card.connector, card.service_account)
    card.require_same_account(capture)
    capture.require_same_account(card)
    assert card.same_account(capture)


@given(
    card=card_tokens(),
    connector=st.sampled_from(["sim", "adyen"]),
    account=st.sampled_from(["sa-1", "sa-2"]),
    kind=st.sampled_from(OTHER_KINDS),
)
def test_a_token_of_another_connector_or_account_is_refused(
    card: CardToken, connector: str, account: str, kind: type[ProcessorToken]
) -> None:
    """require_same_account raises ConnectorMismatch when connector or service account differ."""
    other = kind("tok_other", connector, account)
    if (connector, account) == ("sim", "sa-1"):
        card.require_same_account(other)
        return
    assert not card.same_account(other)
    with pytest.raises(ConnectorMismatch) as mismatch:
        card.require_same_account(other)
    assert card.value not in str(mismatch.value)
    with pytest.raises(ConnectorMismatch):
        other.require_same_account(card)


def test_the_mismatch_error_names_both_accounts() -> None:
    """The ConnectorMismatch message says which connector/account met which."""
    with pytest.raises(ConnectorMismatch, match=r"adyen/sa-9 .* sim/sa-1"):
        _card().require_same_account(CaptureToken("cap_1", "adyen", "sa-9"))


@given(card_tokens(connector="adyen", service_account="merchant-7"))
def test_card_tokens_strategy_uses_the_given_account(card: CardToken) -> None:
    """card_tokens() builds valid tokens of the connector and service account it is given."""
    assert (card.connector, card.service_account) == ("adyen", "merchant-7")
    assert card.value.startswith("tok_")
    assert card.last4.isdigit()
