"""No card data anywhere (T1, T2, V8): the CVV is kept nowhere and card numbers are refused."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import attrs
import pytest
from hypothesis import given, settings
from support import ALICE, CARD_1, CARD_2, CLERK, CVV, World, make_world

from ocop import (
    BackOffice,
    CardNumberRefused,
    CardPayment,
    CardToken,
    Channel,
    CompletionDraft,
    InvalidCvv,
    LineStatus,
    Outcome,
    Prepayment,
    ProcessorResult,
    SavedCardPayment,
)
from ocop.services._engine import Secrets
from ocop.testing.strategies import card_numbers
from worlds import usd, without_run_noise

CARD_NUMBERS = (
    "4111111111111111",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "tok_5500005555555559",
)


def full_flow(world: World) -> list[object]:
    """Save a card, pay with it (CVV) in e-commerce and in completion, edit, cancel, recover.

    Returns every draft and result the flow produced, for their reprs.
    """
    bo = world.bo
    saved = bo.save_instrument(ALICE, CARD_1, consent=True)
    seen: list[object] = [saved]
    seen.append(
        bo.place_order(
            "SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("100.00"),
            payments=[SavedCardPayment(saved.instrument_id, cvv=CVV, amount=usd("100.00"))],
        )
    )  # fmt: skip
    bo.place_order("SO-2", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("80.00"))
    draft = bo.begin_completion("SO-2", CLERK).add_saved_card(
        saved.instrument_id, cvv=CVV, amount=usd("50.00")
    )
    draft = draft.add_card(CARD_2, usd("30.00"))
    seen += [draft, bo.submit(draft)]
    bo.change_total("SO-1", usd("120.00"), CLERK)
    edit = bo.begin_completion("SO-1", CLERK).add_saved_card(
        saved.instrument_id, cvv=CVV, amount=usd("20.00")
    )
    seen += [edit, bo.submit(edit)]
    replaced = bo.begin_completion("SO-2", CLERK)
    replaced = replaced.add_saved_card(saved.instrument_id, cvv=CVV, amount=usd("5.00"))
    replaced = replaced.remove(replaced.lines[-1].line_id)
    seen += [replaced, bo.cancel_order("SO-2", CLERK), bo.saved_instruments(ALICE)]
    bo.place_order("SO-3", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("10.00"))
    doubtful = bo.begin_completion("SO-3", CLERK).add_saved_card(
        saved.instrument_id, cvv=CVV, amount=usd("10.00")
    )
    world.sim.script("tokenize", "timeout_after_success")
    seen += [doubtful, bo.submit(doubtful), bo.recover()]
    seen.append(bo.submit(bo.begin_completion("SO-3", CLERK)))
    return seen


def test_the_cvv_is_never_stored_logged_or_shown(caplog: pytest.LogCaptureFixture) -> None:
    """T1: after a whole flow paying with a saved card, the CVV is in no stored or shown value."""
    world = make_world()
    with caplog.at_level(logging.DEBUG):
        seen = full_flow(world)
    order = world.bo.order("SO-1")
    assert [line.status for line in order.lines] == [LineStatus.AUTHORIZED] * 2
    assert world.bo.order("SO-3").approved
    assert len(world.sim.ledger()) >= 4
    assert "SO-3/tokenize:L1#1" in caplog.text
    places = {
        "stored tables": repr(world.store._tables),
        "journal": repr(world.journal.vouchers()),
        "ledger": repr(world.sim.ledger()),
        # What a record says, not its timestamps and thread ids (digits that may hold "9371").
        "logs": caplog.text
        + repr([(r.name, r.getMessage(), r.args, r.exc_text) for r in caplog.records]),
        "drafts and results": repr(seen),
        "processor": repr(world.sim.__dict__),
        "orders": repr([world.bo.order(order_id) for order_id in ("SO-1", "SO-2", "SO-3")]),
    }
    for place, text in places.items():
        assert CVV not in without_run_noise(text), place


def test_a_saved_card_payment_does_not_show_its_cvv() -> None:
    """T1: the channel's saved-card payment keeps the CVV out of its repr and equality."""
    payment = SavedCardPayment("PI-1", cvv=CVV, amount=usd("1.00"))
    assert CVV not in repr(payment)
    assert payment == SavedCardPayment("PI-1", cvv="000", amount=usd("1.00"))


def test_a_draft_does_not_show_or_compare_its_cvvs() -> None:
    """T1: a draft holding a CVV for submit shows it nowhere and compares without it."""
    world = make_world()
    saved = world.bo.save_instrument(ALICE, CARD_1, consent=True)
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("9.00"))
    draft = world.bo.begin_completion("SO-1", CLERK)
    one = draft.add_saved_card(saved.instrument_id, cvv=CVV, amount=usd("9.00"))
    other = draft.add_saved_card(saved.instrument_id, cvv="000", amount=usd("9.00"))
    assert CVV not in repr(one)
    assert one == other


@functools.cache
def _pos_world() -> World:
    world = make_world()
    world.bo.place_order(
        "SO-1", channel=Channel.POS, customer=ALICE, total=usd("10.00"),
        payments=[CardPayment(CARD_1, usd("10.00"))],
    )  # fmt: skip
    return world


def _pos_draft() -> CompletionDraft:
    return _pos_world().bo.begin_completion("SO-1", CLERK)


def _refusals(number: str) -> list[Callable[[], object]]:
    world = _pos_world()
    draft = _pos_draft()
    return [
        lambda: CardToken(
            value=number, connector="sim", service_account="sa-1", brand="visa", last4="1111"
        ),
        lambda: Prepayment("check", usd("5.00"), check_number=number),
        lambda: draft.add_prepayment("check", usd("5.00"), check_number=number),
        lambda: SavedCardPayment(number, cvv=CVV, amount=usd("5.00")),
        lambda: world.bo.place_order(
            number, channel=Channel.POS, customer=ALICE, total=usd("1.00")
        ),
    ]


@pytest.mark.parametrize("number", CARD_NUMBERS)
def test_a_card_number_given_as_a_token_or_check_number_is_refused_without_echo(
    number: str,
) -> None:
    """T2: a card number where a token, check number or id goes is refused, never echoed."""
    digits = "".join(ch for ch in number if ch.isdigit())
    for refuse in _refusals(number):
        with pytest.raises(CardNumberRefused) as refused:
            refuse()
        shown = f"{refused.value} {refused.value!r} {refused.value.args!r}"
        assert number not in shown
        assert digits not in shown
        assert digits[-4:] not in shown


@settings(deadline=None)  # the first example builds the cached orders
@given(number=card_numbers())
def test_any_card_number_as_a_check_number_is_refused_without_echo(number: str) -> None:
    """T2: every Luhn-valid 13-19 digit run, however written, is refused as a check number."""
    draft = _pos_draft()
    with pytest.raises(CardNumberRefused) as refused:
        draft.add_prepayment("check", usd("5.00"), check_number=number)
    digits = "".join(ch for ch in number if ch.isdigit())
    assert digits not in str(refused.value)
    assert number not in str(refused.value)


# -- CVVs (T1): refused where they enter, never sent ----------------------------------------

BAD_CVVS: tuple[object, ...] = (*CARD_NUMBERS, "", "12", "12345", "12a", " 123", 123, None)


def _cvv_entries(world: World, cvv: object) -> list[Callable[[], object]]:
    """Every way a CVV comes into ocop, each given ``cvv``."""
    saved = world.bo.saved_instruments(ALICE)[0]
    draft = world.bo.begin_completion("SO-1", CLERK)
    return [
        lambda: SavedCardPayment(saved.instrument_id, cvv=cvv, amount=usd("5.00")),  # type: ignore[arg-type]
        lambda: draft.add_saved_card(saved.instrument_id, cvv=cvv, amount=usd("5.00")),  # type: ignore[arg-type]
        lambda: attrs.evolve(draft, cvvs={"L1": cvv}),  # type: ignore[dict-item]
        lambda: Secrets(cvvs={"L1": cvv}),  # type: ignore[dict-item]
    ]


@functools.cache
def _cvv_world() -> World:
    world = make_world()
    world.bo.save_instrument(ALICE, CARD_1, consent=True)
    world.bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("10.00"))
    return world


def _refused_as_a_cvv(cvv: object) -> None:
    world = _cvv_world()
    for enter in _cvv_entries(world, cvv):
        with pytest.raises(InvalidCvv) as refused:
            enter()
        shown = f"{refused.value} {refused.value!r} {refused.value.args!r}"
        assert str(refused.value) == "a CVV is 3 or 4 digits"
        if isinstance(cvv, str) and cvv:
            assert cvv not in shown
    assert world.sim.ledger() == ()
    assert world.bo.begin_completion("SO-1", CLERK).lines == ()


@pytest.mark.parametrize("cvv", BAD_CVVS)
def test_a_cvv_that_is_not_three_or_four_digits_is_refused_where_it_enters(cvv: object) -> None:
    """T1: a saved-card payment, a draft and a call refuse a bad CVV with InvalidCvv, unechoed."""
    _refused_as_a_cvv(cvv)


@settings(deadline=None)  # the first example builds the cached world
@given(number=card_numbers())
def test_a_card_number_given_as_a_cvv_is_refused_where_it_enters(number: str) -> None:
    """T1, T2: a card number typed where the CVV goes is refused at every entry, never sent."""
    _refused_as_a_cvv(number)


class _CountingProcessor:
    """Counts the tokenize calls a simulated processor receives."""

    def __init__(self, world: World) -> None:
        self.calls = 0
        tokenize = world.sim.tokenize

        def counted(key: str, customer_id: str, instrument_id: str, cvv: str) -> object:
            self.calls += 1
            return tokenize(key, customer_id, instrument_id, cvv)

        world.sim.tokenize = counted  # type: ignore[assignment, method-assign]


def test_a_card_number_given_as_a_cvv_never_reaches_the_processor() -> None:
    """T1: placement and submit with a card number for the CVV stop before any tokenize call."""
    world = make_world()
    saved = world.bo.save_instrument(ALICE, CARD_1, consent=True)
    counter = _CountingProcessor(world)
    number = "4111 1111 1111 1111"
    with pytest.raises(InvalidCvv):
        world.bo.place_order(
            "SO-1", channel=Channel.ECOMMERCE, customer=ALICE, total=usd("10.00"),
            payments=[SavedCardPayment(saved.instrument_id, cvv=number, amount=usd("10.00"))],
        )  # fmt: skip
    world.bo.place_order("SO-2", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("10.00"))
    draft = world.bo.begin_completion("SO-2", CLERK)
    with pytest.raises(InvalidCvv):
        world.bo.submit(draft.add_saved_card(saved.instrument_id, cvv=number, amount=usd("10.00")))
    assert counter.calls == 0
    assert world.sim.ledger() == ()
    good = draft.add_saved_card(saved.instrument_id, cvv=CVV, amount=usd("10.00"))
    assert world.bo.submit(good).approved
    assert counter.calls == 1


class _EchoingProcessor:
    """A processor whose tokenization declines with the CVV it was sent in its reason, as a
    gateway's validation message may ("cvc 9371 does not match")."""

    def __init__(self, world: World) -> None:
        self._sim = world.sim

    def __getattr__(self, name: str) -> object:
        return getattr(self._sim, name)

    def tokenize(self, key: str, customer_id: str, instrument_id: str, cvv: str) -> object:
        return ProcessorResult(key=key, outcome=Outcome.DECLINED,
                               reason=f"cvc {cvv} does not match (code 9)")  # fmt: skip


def test_a_decline_reason_that_echoes_the_cvv_is_stored_and_logged_without_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """T2, V8: the CVV a processor's decline reason repeats is replaced before the reason is
    logged or stored in the operation log; the rest of the reason is kept."""
    world = make_world()
    bo = BackOffice(store=world.store, processor=_EchoingProcessor(world),  # type: ignore[arg-type]
                    journal=world.journal, clock=world.clock)  # fmt: skip
    saved = bo.save_instrument(ALICE, CARD_1, consent=True)
    bo.place_order("SO-1", channel=Channel.CALL_CENTER, customer=ALICE, total=usd("10.00"))
    draft = bo.begin_completion("SO-1", CLERK).add_saved_card(
        saved.instrument_id, cvv=CVV, amount=usd("10.00")
    )
    with caplog.at_level(logging.DEBUG):
        assert not bo.submit(draft).approved
    (tokenize,) = bo.operations("SO-1")
    assert tokenize.reason == "cvc [security code] does not match (code 9)"
    assert CVV not in without_run_noise(repr(world.store._tables))
    assert CVV not in caplog.text + repr([(r.getMessage(), r.args) for r in caplog.records])
