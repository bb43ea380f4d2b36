"""What invoice() and pickup() tell the caller: captures, uncovered, failures, doubt (I1-I6, O3).

Every result field is asserted exactly, in doubt and after ``recover()``, and a
retry after recovery must finish the invoice (liveness).
"""

from __future__ import annotations

import pytest

from ocop import HoldCode, InvoiceResult, LineStatus, OperationInDoubt
from worlds import by_card, card, in_cash, new_world, usd

from .helpers import CLERK, SUPERVISOR, journal_totals, kinds, ledger, open_at_processor, place


def captured(result: InvoiceResult) -> list[tuple[str, str]]:
    """The result's captures as (capture id, amount in dollars)."""
    return [(c.capture_id, str(c.amount.amount)) for c in result.captures]


# -- a capture in doubt with parts left ---------------------------------------------------------


def test_a_first_capture_in_doubt_is_reported_and_no_other_line_is_captured() -> None:
    """The first of two card captures times out: the result is in doubt, nothing captured,
    the whole amount uncovered, and the second line is not captured."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("60.00"), by_card("40.00", card("tok_2", last4="2222")))
    world.sim.script("capture", "timeout_before")
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert isinstance(result, InvoiceResult)
    assert result.invoice_id == "INV-1"
    assert result.in_doubt
    assert result.captures == ()
    assert result.uncovered == usd("100.00")
    assert result.failed == ()
    assert not result.new_payment_required
    assert kinds(world, "SO-1") == ["authorize", "authorize"]
    assert [(i.invoice_id, i.amount) for i in result.order.invoices] == [("INV-1", usd("100.00"))]


def test_an_invoice_in_doubt_midway_lists_the_captures_made_and_leaves_the_rest_uncovered() -> None:
    """Three card lines, the second capture's answer lost: the first capture is listed, the
    other 70.00 uncovered, the third line untouched; after recover() a retry takes only it."""
    world = new_world()
    place(
        world,
        "SO-1",
        "100.00",
        by_card("30.00"),
        by_card("30.00", card("tok_2", last4="2222")),
        by_card("40.00", card("tok_3", last4="3333")),
    )
    world.sim.script("capture", "approve", "timeout_after_success")
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert isinstance(result, InvoiceResult)
    assert result.in_doubt
    assert captured(result) == [("SO-1/capture:INV-1:L1:L1.A1#1", "30.00")]
    assert result.uncovered == usd("70.00")
    assert result.failed == ()
    assert [e.key for e in ledger(world, "SO-1", "capture")] == [
        "SO-1/capture:INV-1:L1:L1.A1#1",
        "SO-1/capture:INV-1:L2:L2.A1#1",
    ]

    with pytest.raises(OperationInDoubt) as refused:
        world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert refused.value.order_id == "SO-1"
    assert refused.value.keys == ("SO-1/capture:INV-1:L2:L2.A1#1",)

    report = world.bo.recover()
    assert report.resolved == ("SO-1/capture:INV-1:L2:L2.A1#1",)
    assert report.still_in_doubt == ()
    retried = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert not retried.in_doubt
    assert captured(retried) == [
        ("SO-1/capture:INV-1:L1:L1.A1#1", "30.00"),
        ("SO-1/capture:INV-1:L2:L2.A1#1", "30.00"),
        ("SO-1/capture:INV-1:L3:L3.A1#1", "40.00"),
    ]
    assert retried.uncovered == usd("0.00")
    assert len(ledger(world, "SO-1", "capture")) == 3
    assert journal_totals(world, "SO-1") == (usd("100.00"), usd("0.00"))


def test_an_invoice_in_doubt_after_a_prepayment_lists_the_prepayment_application() -> None:
    """Cash covers its part first; the card capture in doubt leaves only the card's part
    uncovered, and the cash application is among the captures."""
    world = new_world()
    place(world, "SO-1", "100.00", in_cash("20.00"), by_card("80.00"))
    world.sim.script("capture", "timeout_before")
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert result.in_doubt
    assert captured(result) == [("SO-1/apply:INV-1:L1#1", "20.00")]
    assert result.uncovered == usd("80.00")


# -- pickup: the void before the retry in doubt -------------------------------------------------


@pytest.mark.parametrize(
    ("void_fault", "after_retry"),
    [
        # The void never arrived: the first authorization is still open and is captured.
        ("timeout_before", (["authorize", "capture"], "L1.A1")),
        # The void went through: the retry authorizes anew and captures that.
        ("timeout_after_success", (["authorize", "void", "authorize", "capture"], "L1.A2")),
    ],
)
def test_a_pickup_whose_void_before_the_retry_is_in_doubt_reports_the_doubt(
    void_fault: str, after_retry: tuple[list[str], str]
) -> None:
    """I6, O3: the declined capture's authorization is voided before the retry; when that
    void times out the pickup reports in doubt, authorizes nothing new, and once recovered a
    retry captures the amount exactly once."""
    world = new_world()
    place(world, "SO-1", "50.00", by_card("50.00"))
    world.sim.script("capture", "decline")
    world.sim.script("void", void_fault)
    result = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert result.in_doubt
    assert result.captures == ()
    assert result.uncovered == usd("50.00")
    assert result.failed == ("L1",)
    assert not result.new_payment_required
    assert [e.kind for e in ledger(world, "SO-1", "authorize")] == ["authorize"]

    with pytest.raises(OperationInDoubt) as refused:
        world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert refused.value.keys == ("SO-1/void:L1.A1#1",)
    assert world.bo.recover().resolved == ("SO-1/void:L1.A1#1",)

    retried = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    kinds_after, auth_id = after_retry
    assert not retried.in_doubt
    assert retried.failed == ()
    assert [(c.auth_id, c.amount) for c in retried.captures] == [(auth_id, usd("50.00"))]
    assert retried.uncovered == usd("0.00")
    assert kinds(world, "SO-1") == kinds_after
    assert open_at_processor(world, "SO-1", "L1") == usd("0.00")
    assert retried.order.balance_due == usd("0.00")


def test_a_pickup_whose_retry_also_fails_names_only_its_line_and_asks_for_a_new_payment() -> None:
    """I6: both captures declined: not in doubt, nothing captured, the line named as failed,
    a new payment required, and the new authorization left open for it."""
    world = new_world()
    place(world, "SO-1", "50.00", by_card("50.00"))
    world.sim.script("capture", "decline", "decline")
    result = world.bo.pickup("SO-1", "INV-1", usd("50.00"))
    assert not result.in_doubt
    assert result.new_payment_required
    assert result.captures == ()
    assert result.uncovered == usd("50.00")
    # The line is named (today twice, once per declined capture: see the report).
    assert set(result.failed) == {"L1"}
    assert open_at_processor(world, "SO-1", "L1") == usd("50.00")


# -- failures attributed to their line ----------------------------------------------------------


def test_a_declined_capture_is_attributed_to_its_line_and_the_others_still_capture() -> None:
    """The second line's capture is declined: the first is captured, the second named failed,
    its part uncovered, nothing in doubt."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("60.00"), by_card("40.00", card("tok_2", last4="2222")))
    world.sim.script("capture", "approve", "decline")
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert not result.in_doubt
    assert result.failed == ("L2",)
    assert captured(result) == [("SO-1/capture:INV-1:L1:L1.A1#1", "60.00")]
    assert result.uncovered == usd("40.00")
    assert not result.new_payment_required


def test_a_declined_reauthorization_of_the_released_rest_is_attributed_to_its_line() -> None:
    """I2 on a single-capture processor: the capture succeeds, re-authorizing the rest is
    declined; the capture stands and the line is named failed."""
    world = new_world(multi_capture=False)
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.sim.script("authorize", "decline")
    result = world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    assert not result.in_doubt
    assert result.failed == ("L1",)
    assert captured(result) == [("SO-1/capture:INV-1:L1:L1.A1#1", "60.00")]
    assert result.uncovered == usd("0.00")
    assert kinds(world, "SO-1") == ["authorize", "capture"]
    assert result.order.line("L1").authorized == usd("0.00")


def test_a_stale_authorization_is_attributed_to_its_line_without_a_processor_call() -> None:
    """I3: past the stale period the line is named failed, nothing is called, and the order
    gets an authorization-expired hold."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.clock.advance(days=30)
    calls = world.sim.calls
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert world.sim.calls == calls
    assert result.failed == ("L1",)
    assert result.captures == ()
    assert result.uncovered == usd("100.00")
    assert not result.in_doubt
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]


def test_an_expired_authorization_without_a_reusable_token_is_attributed_to_its_line() -> None:
    """I3: an expired authorization on a one-time token is voided, the line declined and
    named failed; nothing is captured."""
    world = new_world()
    place(world, "SO-1", "100.00", by_card("100.00", card(reusable=False)))
    world.clock.advance(days=14)
    result = world.bo.invoice("SO-1", "INV-1", usd("100.00"))
    assert result.failed == ("L1",)
    assert result.captures == ()
    assert result.uncovered == usd("100.00")
    assert kinds(world, "SO-1") == ["authorize", "void"]
    assert result.order.line("L1").status is LineStatus.DECLINED
    assert [h.code for h in result.order.holds] == [HoldCode.AUTHORIZATION_EXPIRED]


# -- I2: the released rest is re-authorized only when nothing else of the line is open -----------


def test_the_released_rest_is_authorized_while_another_authorization_of_the_line_is_open() -> None:
    """I2, single capture, no adjustments: a line raised to 150.00 whose void (for the
    re-authorization) was declined keeps 40.00 open on L1.A2, and needs 50.00 more. The
    invoice run authorizes those 50.00 first, then captures 40.00 on L1.A2 and 10.00 on
    the new authorization, whose single capture releases the rest, authorized again (I2).
    The card never holds more than is still due. (The rest waited while L1.A2 was open:
    the invoice captured 40.00 of its 50.00, reported 10.00 uncovered and no failure, and
    only a retry took the rest.)"""
    world = new_world(multi_capture=False, adjustments=False)
    place(world, "SO-1", "100.00", by_card("100.00"))
    world.bo.invoice("SO-1", "INV-1", usd("60.00"))
    world.bo.change_total("SO-1", usd("150.00"), CLERK)
    draft = world.bo.begin_completion("SO-1", CLERK).change_amount("L1", usd("150.00"))
    world.sim.script("void", "decline")
    submitted = world.bo.submit(draft)
    assert [h.code for h in submitted.holds] == [
        HoldCode.OUT_OF_BALANCE, HoldCode.PAYMENT_DECLINED
    ]  # fmt: skip
    world.bo.release_hold("SO-1", HoldCode.OUT_OF_BALANCE, SUPERVISOR)
    world.bo.release_hold("SO-1", HoldCode.PAYMENT_DECLINED, SUPERVISOR)
    line = world.bo.order("SO-1").line("L1")
    assert [(a.auth_id, a.open_amount) for a in line.open_authorizations()] == [
        ("L1.A2", usd("40.00"))
    ]

    result = world.bo.invoice("SO-1", "INV-2", usd("50.00"))
    assert [(e.kind, e.amount) for e in ledger(world, "SO-1")] == [
        ("authorize", usd("100.00")),
        ("capture", usd("60.00")),
        ("authorize", usd("40.00")),  # I2 after INV-1
        ("authorize", usd("50.00")),  # what the line still needs, before INV-2 ...
        ("capture", usd("40.00")),  # ... which takes what L1.A2 holds
        ("capture", usd("10.00")),  # and 10.00 of L1.A3, releasing its 40.00 ...
        ("authorize", usd("40.00")),  # ... authorized again (I2)
    ]
    assert [(c.auth_id, c.amount) for c in result.captures] == [
        ("L1.A2", usd("40.00")),
        ("L1.A3", usd("10.00")),
    ]
    assert (result.uncovered, result.failed, result.in_doubt) == (usd("0.00"), (), ())
    assert open_at_processor(world, "SO-1", "L1") == usd("40.00")
    order = world.bo.order("SO-1")
    assert order.line("L1").authorized == usd("40.00")
    assert order.received == usd("110.00")
    assert journal_totals(world, "SO-1") == (usd("110.00"), usd("0.00"))
