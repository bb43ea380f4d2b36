"""Copies and builds without validators (ocop.domain.values), and vouchers ocop derives.

Issue 8: values ocop derives from checked ones are made without running the validators
again. Each fast path must make exactly what the checked one makes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import CardNumberRefused, Money, VoucherUnbalanced
from ocop.domain.journal import Voucher, VoucherKind, derived_voucher
from ocop.domain.movements import Capture
from ocop.domain.tokens import CaptureToken
from ocop.domain.values import built, replaced
from ocop.testing.strategies import positive_money

from .builders import AT, authorized_line, capture, cash_line, usd
from .builders import order as an_order

ids = st.text(alphabet="ABCXYZ-_.0123456789", min_size=1, max_size=12)


@given(kind=st.sampled_from(VoucherKind), amount=positive_money(), voucher_id=ids,
       order_id=ids, reference=ids, method=st.sampled_from(["card", "cash", "check"]))  # fmt: skip
def test_a_derived_voucher_is_the_voucher_its_constructor_makes(  # noqa: PLR0917 - drawn
    kind: VoucherKind, amount: Money, voucher_id: str, order_id: str, reference: str, method: str
) -> None:
    """derived_voucher skips the checks, not the content: equal to Voucher.of_kind's."""
    posting = {"voucher_id": voucher_id, "journal_name": "Payments", "order_id": order_id,
               "reference": reference, "method": method, "amount": amount, "at": AT}  # fmt: skip
    assert derived_voucher(kind, **posting) == Voucher.of_kind(kind, **posting)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_a_derived_voucher_of_no_money_is_refused_as_the_constructor_refuses_it(
    amount: str,
) -> None:
    posting = {"voucher_id": "V1", "journal_name": "Payments", "order_id": "SO-1",
               "reference": "INV-1", "method": "card", "amount": Money.of(amount, "USD"),
               "at": AT}  # fmt: skip
    with pytest.raises(VoucherUnbalanced) as checked:
        Voucher.of_kind(VoucherKind.PAYMENT, **posting)  # type: ignore[arg-type]
    with pytest.raises(VoucherUnbalanced) as derived:
        derived_voucher(VoucherKind.PAYMENT, **posting)  # type: ignore[arg-type]
    assert str(derived.value) == str(checked.value)


def test_a_derived_voucher_refuses_a_card_number_in_its_journal_name() -> None:
    """The journal's name comes from the settings: checked like the constructor checks it."""
    with pytest.raises(CardNumberRefused, match=r"Voucher\.journal_name"):
        derived_voucher(VoucherKind.REFUND, voucher_id="V1",
                        journal_name="Refunds 4111 1111 1111 1111", order_id="SO-1",
                        reference="RET-1", method="card", amount=Money.of("1.00", "USD"),
                        at=AT)  # fmt: skip


def test_built_fills_defaults_as_the_constructor_does() -> None:
    """Plain defaults and factories are filled in; a missing field without one is a
    TypeError, as is a name that is no field."""
    made = built(Capture, capture_id="C1", line_id="L1", invoice_id="INV-1",
                 amount=Money.of("5.00", "USD"), refunded=Money.of("0.00", "USD"),
                 captured_at=AT)  # fmt: skip
    assert made == Capture(capture_id="C1", line_id="L1", invoice_id="INV-1",
                           amount=Money.of("5.00", "USD"), refunded=Money.of("0.00", "USD"),
                           captured_at=AT)  # fmt: skip
    with pytest.raises(TypeError):
        built(Capture, capture_id="C1")
    with pytest.raises(TypeError):
        replaced(made, no_such_field=1)


def test_replaced_changes_only_what_it_is_given() -> None:
    taken = capture("C1", usd("10.00"))
    later = taken.captured_at + timedelta(days=1)
    copy = replaced(taken, captured_at=later)
    assert copy == attrs.evolve(taken, captured_at=later)
    assert replaced(taken) == taken
    assert replaced(taken) is not taken


def test_an_order_one_version_later_keeps_its_derived_amounts() -> None:
    """next_version changes the version only: what the order computed before the copy,
    and what it had not computed yet, come out the same on the copy."""
    order = an_order("100.00", authorized_line("80.00"), cash_line("20.00", "L2").posted())
    computed = (order.received, order.authorized, order.paid)  # computed before the copy
    later = order.next_version()
    assert later.version == order.version + 1
    assert (later.received, later.authorized, later.paid) == computed
    fresh = attrs.evolve(later)  # nothing carried
    assert (fresh.refunded, fresh.invoiced, fresh.captured, fresh.charged_back) == (
        later.refunded, later.invoiced, later.captured, later.charged_back,
    )  # fmt: skip


def test_the_manual_clock_moves_only_when_told() -> None:
    from ocop.adapters.memory import ManualClock  # noqa: PLC0415 - the one adapter here

    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = ManualClock(start)
    assert clock.now() == start
    clock.advance(hours=2)
    assert clock.now() == start + timedelta(hours=2)


def test_fields_named_like_the_copy_functions_own_names_are_copied() -> None:
    """A token's field ``value`` (the copied value's usual name) is copied and built."""
    token = CaptureToken("cap_1", "sim", "sa-1")
    assert replaced(token, value="cap_2") == CaptureToken("cap_2", "sim", "sa-1")
    assert built(CaptureToken, value="cap_3", connector="sim", service_account="sa-1") == (
        CaptureToken("cap_3", "sim", "sa-1")
    )


def test_a_class_with_a_field_named_like_the_functions_internals_is_refused() -> None:
    @attrs.frozen
    class Odd:
        _ocop_new: int

    with pytest.raises(TypeError, match="_ocop_"):
        replaced(Odd(1))


def test_a_class_without_slots_is_copied_and_built_too() -> None:
    """Slots are written through their descriptors; a class without them as attrs writes."""

    @attrs.frozen(slots=False)
    class Plain:
        name: str
        count: int = 0

    assert replaced(Plain("a", 1), count=2) == Plain("a", 2)
    assert built(Plain, name="b") == Plain("b")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Plain("c").count = 3  # type: ignore[misc]
