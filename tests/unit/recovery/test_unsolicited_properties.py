"""Properties of chargebacks and their reversals (rule N4, V2, V3, V4).

Any sequence of chargebacks, reversals, deliveries again and refunds keeps V2, V3 and
V4, what each capture can refund is captured - refunded - charged back (never below
zero), a refund never takes more, and each notification is applied at most once —
compared against a simple model of the chargebacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hypothesis import event, given
from hypothesis import strategies as st

from ocop import (
    Actor,
    BackOffice,
    Channel,
    Customer,
    Money,
    Notification,
    NotificationEvent,
    RefundExceedsReceived,
)
from unsolicited_support import chargeback, check_books, reversal
from worlds import by_card, new_world, usd

AGENT = Actor.call_center("agent-1")

Action = (
    tuple[str, int, int, int]  # ("cb", capture index, cents, dispute)
    | tuple[str, int]  # ("rev", dispute) | ("again", nth note) | ("refund", cents)
)

actions = st.lists(
    st.one_of(
        st.tuples(st.just("cb"), st.integers(0, 1), st.integers(1, 7000), st.integers(0, 2)),
        st.tuples(st.just("rev"), st.integers(0, 2)),
        st.tuples(st.just("again"), st.integers(0, 20)),
        st.tuples(st.just("refund"), st.integers(1, 6000)),
    ),
    max_size=14,
)


@dataclass
class _Charged:
    dispute: str
    cents: int
    at: datetime
    reversed: bool = False


@dataclass
class _Model:
    """The chargebacks recorded per capture, and the notifications applied."""

    chargebacks: dict[str, list[_Charged]] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)
    #: Reversals kept for review (they came before any chargeback of their dispute).
    early: list[Notification] = field(default_factory=list)

    def reverse(self, note: Notification) -> bool:
        """Reverse the newest chargeback of the dispute still in force, if there is one."""
        open_ = [c for cbs in self.chargebacks.values() for c in cbs
                 if c.dispute == note.dispute and not c.reversed]  # fmt: skip
        if not open_:
            return False
        max(open_, key=lambda c: c.at).reversed = True
        self.applied.add(note.notification_id)
        return True

    def charged(self, capture_id: str) -> int:
        return sum(c.cents for c in self.chargebacks[capture_id] if not c.reversed)


def _world() -> tuple[BackOffice, list[str]]:
    bo = new_world().bo
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=Customer.guest(),
                   total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    first = bo.invoice("SO-1", "INV-1", usd("60.00")).captures[0].capture_id
    second = bo.invoice("SO-1", "INV-2", usd("40.00")).captures[0].capture_id
    return bo, [first, second]


def _expected(model: _Model, note: Notification, amounts: dict[str, int]) -> str:
    """What the model says ``note`` does: applied, duplicate or kept (and applies it)."""
    if note.notification_id in model.applied:
        return "duplicate"
    if note.event is NotificationEvent.CHARGEBACK:
        assert note.amount is not None
        cents = note.amount.minor
        if cents > amounts[note.key] - model.charged(note.key):
            return "kept"
        model.chargebacks[note.key].append(_Charged(note.dispute, cents, note.at))
        model.applied.add(note.notification_id)
        for early in model.early:  # a reversal that came first is applied now
            if early.dispute == note.dispute and early.notification_id not in model.applied:
                model.reverse(early)
        return "applied"
    if not model.reverse(note):
        if all(k.notification_id != note.notification_id for k in model.early):
            model.early.append(note)
        return "kept"
    return "applied"


@given(actions)
def test_chargebacks_reversals_duplicates_and_refunds_keep_the_books(
    steps: list[Action],
) -> None:
    """V2, V3, V4 and refundable amounts hold after every step; each notification is
    applied once; a refund never takes more than a capture can still refund."""
    bo, captures = _world()
    amounts = {captures[0]: 6000, captures[1]: 4000}
    model = _Model(chargebacks={c: [] for c in captures})
    sent: list[Notification] = []
    for n, step in enumerate(steps, start=1):
        match step:
            case ("cb", capture, cents, dispute):
                note = chargeback(captures[capture], Money.from_minor(cents, "USD"), n,
                                  dispute=f"D-{dispute}")  # fmt: skip
            case ("rev", dispute):
                note = reversal(captures[0], n, dispute=f"D-{dispute}")
            case ("again", nth) if sent:
                note = sent[nth % len(sent)]
            case ("refund", cents):
                _refund(bo, f"RMA-{n}", Money.from_minor(cents, "USD"))
                check_books(bo, "SO-1")
                continue
            case _:
                continue
        sent.append(note)
        result = bo.handle_notification(note)
        got = "applied" if result.applied else "duplicate" if result.duplicate else "kept"
        assert got == _expected(model, note, amounts)
        event(f"{note.event.value} {got}")
        order = check_books(bo, "SO-1")
        for taken in order.lines[0].captures:
            assert taken.charged_back.minor == model.charged(taken.capture_id)


def _refund(bo: BackOffice, return_id: str, amount: Money) -> None:
    """Refund ``amount``; refused whole beyond what the order may still pay back, and no
    capture refunds more than it could (captured - refunded - charged back)."""
    before = bo.order("SO-1")
    refundable = {c.capture_id: c.refundable for c in before.lines[0].captures}
    try:
        bo.refund("SO-1", return_id, amount, AGENT)
    except RefundExceedsReceived:
        assert amount > before.returnable
        return
    assert amount <= before.returnable
    after = bo.order("SO-1")
    assert after.refunded - before.refunded == amount
    for capture in after.lines[0].captures:
        old = next(c for c in before.lines[0].captures if c.capture_id == capture.capture_id)
        assert capture.refunded - old.refunded <= refundable[capture.capture_id]
