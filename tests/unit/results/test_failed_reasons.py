"""Each entry of a result's ``failed`` carries the processor's reason and the call's key.

An entry equals the id of what failed (a line for an invoice, a capture for a refund,
the card as shown for an unlinked refund), so code that compares ids keeps working.
"""

from __future__ import annotations

import pickle

import pytest

from ocop import Failed
from worlds import by_card, card, new_world, usd

from .helpers import AGENT, place

REFUSED = "scripted decline"  # the simulated processor's reason for a scripted decline


def test_a_declined_capture_names_its_line_the_key_and_the_processor_reason() -> None:
    """I1: a declined capture's failed entry is the line id with the decline's key and reason."""
    world = new_world()
    place(world, "SO-1", "50.00", by_card("50.00"))
    world.sim.script("capture", "decline")
    result = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    (failed,) = result.failed
    assert failed == "L1"
    assert (failed.key, failed.reason) == ("SO-1/capture:INV-1:L1:L1.A1#1", REFUSED)
    with world.bo.ports.store.unit_of_work() as uow:
        declined = [op for op in uow.operations.for_order("SO-1") if op.key == failed.key]
    assert [op.result.reason for op in declined if op.result is not None] == [REFUSED]


def test_a_declined_linked_refund_names_its_capture_the_key_and_the_reason() -> None:
    """R5: a declined linked refund's failed entry is the capture id with key and reason."""
    world = new_world()
    place(world, "SO-1", "50.00", by_card("50.00"))
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    world.sim.script("refund", "decline")
    result = world.bo.refund("SO-1", "RMA-1", usd("20.00"), AGENT)
    (failed,) = result.failed
    assert failed == "SO-1/capture:INV-1:L1:L1.A1#1"
    assert failed.key == "SO-1/refund:RMA-1:capture:INV-1:L1:L1.A1#1:1#1"
    assert failed.reason == REFUSED


def test_a_declined_unlinked_refund_names_the_card_as_shown_with_the_reason() -> None:
    """R4: a declined refund to another card is named by brand and last four, with reason."""
    world = new_world()
    place(world, "SO-1", "50.00", by_card("50.00"))
    world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    world.sim.script("unlinked_refund", "decline")
    other = card("tok_9", last4="9999")
    result = world.bo.refund_to_card("SO-1", "RMA-1", other, usd("20.00"), AGENT)
    (failed,) = result.failed
    assert failed == "VISA ****9999"
    assert (failed.key, failed.reason) == ("SO-1/unlinked_refund:RMA-1:1#1", REFUSED)


def test_a_stale_authorization_fails_without_a_call_and_says_so() -> None:
    """I3: an authorization past the stale period fails locally: no key, a reason that says
    no processor call was made."""
    world = new_world()
    place(world, "SO-1", "50.00", by_card("50.00"))
    world.clock.advance(days=31)
    calls = world.sim.calls
    result = world.bo.invoice("SO-1", "INV-1", usd("50.00"))
    (failed,) = result.failed
    assert failed == "L1"
    assert failed.key == ""
    assert "no processor call" in failed.reason
    assert world.sim.calls == calls


def test_a_failed_entry_is_an_immutable_string_that_survives_pickling() -> None:
    """A Failed compares as its id, refuses changes, shows key and reason, and pickles."""
    failed = Failed("L1", key="SO-1/k#1", reason="declined")
    assert failed == "L1"
    assert {failed} == {"L1"}
    with pytest.raises(AttributeError):
        failed.reason = "other"
    assert repr(failed) == "Failed('L1', key='SO-1/k#1', reason='declined')"
    again = pickle.loads(pickle.dumps(failed))  # noqa: S301 - our own bytes
    assert (again, again.key, again.reason) == ("L1", "SO-1/k#1", "declined")
    assert Failed("L2") == "L2"
    assert (Failed("L2").key, Failed("L2").reason) == ("", "")
