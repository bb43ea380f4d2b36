"""Domain behaviour the second mutation run showed unchecked: the journals vouchers post to,
the hold a declined authorization places, draft refusals on prepayments, and the exact
messages of money, voucher, refund and settings errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest

from ocop import (
    Actor,
    AuthorizationPolicy,
    Channel,
    CompletionDraft,
    CurrencyMismatch,
    Hold,
    HoldCode,
    InvalidAmount,
    InvalidDraftEdit,
    InvalidInput,
    InvalidSettings,
    Money,
    PaymentLine,
    PaymentMethod,
    Settings,
    Voucher,
    VoucherKind,
    VoucherLine,
    VoucherUnbalanced,
)
from worlds import CUSTOMER, START, by_card, card, new_world

from .builders import cash_line, eur, order, usd, zero

AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment"}))
OTHER_CARD = card("tok_9", last4="9999")
CAPTURE_KEY = "SO-1/capture:INV-1:L1:L1.A1#1"


def refusal(edit: Callable[[], object]) -> tuple[str, str, str | None]:
    """The message, rule and line id of the InvalidDraftEdit that ``edit`` raises."""
    with pytest.raises(InvalidDraftEdit) as caught:
        edit()
    return str(caught.value), caught.value.rule, caught.value.line_id


def draft_of(total: str, *lines: PaymentLine) -> CompletionDraft:
    """A completion draft, under default settings, of an order of ``total`` holding ``lines``."""
    return CompletionDraft.begin(order(total, *lines), AGENT, Settings.default(), ())


# -- J2: the journals of receipts and refunds (effects) -------------------------------------


@pytest.mark.parametrize(
    ("settings", "payment_journal", "refund_journal"),
    [
        (Settings.default(), "OCOP-PAY", "OCOP-REF"),
        (
            Settings.default().with_features(
                unified_journal_defaults=False, omni_channel_order_payments=False
            ),
            "POS-PAY",
            "POS-REF",
        ),
    ],
)
def test_captures_and_linked_and_unlinked_refunds_post_to_the_configured_journals(
    settings: Settings, payment_journal: str, refund_journal: str
) -> None:
    """J2: receipts post to the payment journal and all refunds to the refund journal."""
    world = new_world(settings)
    world.bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=CUSTOMER,
        total=usd("100.00"),
        payments=[by_card("100.00")],
    )
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    world.bo.refund("SO-1", "RMA-1", usd("10.00"), AGENT)
    world.bo.refund_to_card("SO-1", "RMA-2", OTHER_CARD, usd("5.00"), AGENT)
    assert [
        (v.voucher_id, v.kind, v.journal_name, v.reference, v.amount)
        for v in world.bo.journal("SO-1")
    ] == [
        (f"V:{CAPTURE_KEY}", VoucherKind.PAYMENT, payment_journal, "INV-1", usd("100.00")),
        (
            "V:SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1",
            VoucherKind.REFUND,
            refund_journal,
            "RMA-1",
            usd("10.00"),
        ),
        (
            "V:SO-1/unlinked_refund:RMA-2:1#1",
            VoucherKind.REFUND,
            refund_journal,
            "RMA-2",
            usd("5.00"),
        ),
    ]


# -- S1: the hold a declined authorization places ------------------------------------------


def test_a_declined_authorization_puts_the_order_on_a_payment_declined_hold() -> None:
    """S1: a decline at submit places out-of-balance and payment-declined holds with reasons."""
    world = new_world()
    world.sim.script("authorize", "decline")
    world.bo.place_order(
        "SO-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("100.00")
    )
    draft = world.bo.begin_completion("SO-1", AGENT).add_card(card(), usd("100.00"))
    assert world.bo.submit(draft).holds == (
        Hold(
            code=HoldCode.OUT_OF_BALANCE,
            reason="paid 0.00 USD of 100.00 USD",
            placed_at=START,
            placed_by=AGENT.actor_id,
        ),
        Hold(
            code=HoldCode.PAYMENT_DECLINED,
            reason="a payment authorization was declined",
            placed_at=START,
            placed_by=AGENT.actor_id,
        ),
    )


# -- C1, C5: prepayment edits in a draft ----------------------------------------------------


def test_a_gift_card_prepayment_beyond_the_balance_due_is_refused_under_c1() -> None:
    """C1: adding a gift card worth more than the balance due is refused, naming rule C1."""
    draft = draft_of("100.00", cash_line("40.00"))
    assert refusal(lambda: draft.add_prepayment("gift_card", usd("60.01"))) == (
        "C1: a gift card never pays more than the balance due",
        "C1",
        None,
    )
    added = draft.add_prepayment("gift_card", usd("60.00"))
    assert [(line.method, line.amount) for line in added.lines] == [
        (PaymentMethod.CASH, usd("40.00")),
        (PaymentMethod.GIFT_CARD, usd("60.00")),
    ]


def test_a_posted_prepayment_is_neither_edited_nor_removed_and_the_refusal_names_it() -> None:
    """C5: changing or removing a posted prepayment is refused with its rule and line id."""
    draft = draft_of("100.00", cash_line("40.00").posted())
    assert refusal(lambda: draft.change_amount("P1", usd("30.00"))) == (
        "C5: a posted prepayment is never edited",
        "C5",
        "P1",
    )
    assert refusal(lambda: draft.remove("P1")) == (
        "C5: a posted prepayment is never removed",
        "C5",
        "P1",
    )


# -- error messages ------------------------------------------------------------------------


def test_mixing_currencies_says_which_currencies_differ() -> None:
    """V7: adding euros to dollars raises CurrencyMismatch naming both currencies in order."""
    with pytest.raises(CurrencyMismatch) as caught:
        _ = usd("1.00") + eur("1.00")
    assert str(caught.value) == "currencies differ: USD and EUR"
    assert (caught.value.left, caught.value.right) == ("USD", "EUR")


def test_an_unbalanced_voucher_is_refused_with_its_debits_credits_and_amount() -> None:
    """J1: a voucher whose lines do not balance to its amount says what it got."""
    with pytest.raises(VoucherUnbalanced) as caught:
        Voucher(
            voucher_id="V:SO-1/x#1",
            journal_name="OCOP-PAY",
            kind=VoucherKind.PAYMENT,
            order_id="SO-1",
            reference="INV-1",
            amount=usd("5.00"),
            lines=(
                VoucherLine(account="tender:cash", debit=usd("5.00"), credit=zero()),
                VoucherLine(account="customer_balance", debit=zero(), credit=usd("4.00")),
            ),
            posted_at=START,
        )
    assert str(caught.value) == (
        "voucher V:SO-1/x#1: debits 5.00 USD and credits 4.00 USD "
        "must both equal its amount 5.00 USD"
    )


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity", Decimal("inf")])
def test_a_non_finite_amount_is_refused_as_not_finite(value: str | Decimal) -> None:
    """Money.of refuses NaN and infinities with InvalidAmount saying amounts are finite."""
    with pytest.raises(InvalidAmount) as caught:
        Money.of(value, "USD")
    assert str(caught.value) == "an amount must be a finite number"


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([], "allocation needs at least one weight"),
        ([1, True], "allocation weights are int or Decimal"),
        ([1, 1.5], "allocation weights are int or Decimal"),
        ([0, 0], "allocation weights are finite, non-negative, not all zero"),
        ([1, -1], "allocation weights are finite, non-negative, not all zero"),
        ([Decimal("NaN")], "allocation weights are finite, non-negative, not all zero"),
    ],
)
def test_allocation_refuses_bad_weights_saying_why(weights: Sequence[object], message: str) -> None:
    """Money.allocate names what is wrong with its weights in the InvalidAmount it raises."""
    with pytest.raises(InvalidAmount) as caught:
        usd("1.00").allocate(weights)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_a_refund_of_nothing_or_less_is_refused_saying_it_must_be_positive(amount: str) -> None:
    """R3: a zero or negative refund amount raises InvalidInput saying it must be positive."""
    world = new_world()
    world.bo.place_order(
        "SO-1",
        channel=Channel.POS,
        customer=CUSTOMER,
        total=usd("100.00"),
        payments=[by_card("100.00")],
    )
    world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    with pytest.raises(InvalidInput) as caught:
        world.bo.refund("SO-1", "RMA-1", usd(amount), AGENT)
    assert type(caught.value) is InvalidInput
    assert str(caught.value) == "a refund amount must be positive"
    assert world.bo.order("SO-1").refunded == zero()


def test_authorizations_going_stale_before_they_expire_are_refused() -> None:
    """I3: stale_days below expiry_days raises InvalidSettings saying which must be larger."""
    with pytest.raises(InvalidSettings) as caught:
        AuthorizationPolicy(expiry_days=10, stale_days=9)
    assert str(caught.value) == "stale_days must be at least expiry_days"
    assert AuthorizationPolicy(expiry_days=10, stale_days=10).stale_days == 10
