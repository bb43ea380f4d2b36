"""The lifecycle state machine on the Adyen connector and the local Adyen emulator (issue 12).

The rules of ``tests/lifecycle_machine.py`` run unchanged over :class:`AdyenProcessor`
against :class:`AdyenEmulator`: cards are stored at the emulator, the simulator's faults
become the emulator's (a refused payment, a capture or refund the scheme rejects after
Adyen accepted it, a 5xx before anything happened, a connection dropped after it did),
and every modification is pending until its webhook (N1). Webhooks arrive at random
points, some held back, in any order, some twice (N2). Recovery replays (N3); after it and
every webhook, ocop's books agree with the emulator's records (V5), no merchant reference
moved money twice (V6), and no card number used is stored anywhere (V8). V1-V4 and V7 are
the machine's invariants, checked after every step.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import attrs
import hypothesis.strategies as st
import pytest
from durable_machines import OnSqlite
from hypothesis import event, settings
from hypothesis.stateful import precondition, rule

from lifecycle_machine import Lifecycle
from ocop import AuthorizationToken, CardToken, Money, Notification, Outcome
from ocop.ports.processor import PaymentProcessor
from ocop.testing.adyen_emulator import AdyenEmulator, Record

Adyen = pytest.importorskip("Adyen")

from ocop.adapters.adyen import (  # noqa: E402
    AdyenConfig,
    AdyenProcessor,
    card_token,
    decode_reference,
)
from ocop.adapters.adyen_webhooks import notifications  # noqa: E402

#: The calls of the simulator's kinds at Adyen (unlinked refunds and tokenize make none).
CALLS = {
    "authorize": "payments",
    "adjust": "amountUpdates",
    "capture": "captures",
    "void": "cancels",
    "refund": "refunds",
}
#: The simulator's faults as the emulator's actions; approved and pending are Adyen's own
#: answers (a payment approved, a modification received), so they need no script.
ACTIONS = {
    "timeout_before": "error",  # a 5xx: nothing done
    "timeout_after_success": "drop",  # done, the answer lost
    "crash_after_success": "drop",
}
#: A decline: a refused payment; a capture or refund rejected by the scheme after Adyen
#: accepted it. Adyen declines no cancel or amount update outright: one that breaks a rule
#: is answered received and fails in its webhook, as the emulator does by itself.
DECLINES = {"payments": "refused", "captures": "failed", "refunds": "failed"}
#: Documented test card numbers, stored at the emulator; none may ever be stored by ocop.
PANS = ("4111111111111111", "5555555555554444", "370000000000002")
#: The emulator keeps idempotency keys for as long as it runs.
KEYS_KEPT = 3650
_namespaces = count(1)


class AdyenLifecycle(Lifecycle):
    """Random back-office days against Adyen: its connector, its emulator, its webhooks."""

    emulator: AdyenEmulator
    namespace: str

    def new_processor(self, *, multi: bool, adjustments: bool) -> PaymentProcessor:
        """A fresh emulator for the run and a connector under a fresh namespace."""
        self.emulator = AdyenEmulator(multi_capture=multi).start()
        self.namespace = f"lc-{next(_namespaces)}"
        self.stored: dict[int, CardToken] = {}
        self.applied: set[str] = set()
        self.webhook_rounds = 0
        client = Adyen.Adyen(xapikey=self.emulator.api_key, platform="test", http_timeout=5)
        self.recurring = client.checkout.recurring_api
        self.recurring.baseUrl = self.emulator.checkout_url
        config = AdyenConfig(
            api_key=self.emulator.api_key, merchant_account=self.emulator.merchant_account,
            namespace=self.namespace, checkout_url=self.emulator.checkout_url,
            multi_capture=multi, adjustments=adjustments,
            key_lifetime=timedelta(days=KEYS_KEPT), timeout_seconds=5,
        )  # fmt: skip
        return AdyenProcessor(config)

    def card(self, number: int) -> CardToken:
        """The ``number``-th card, stored at the emulator for a shopper of its own (every
        third one not reusable, as the simulator's)."""
        if number not in self.stored:
            shopper = f"S-{number}"
            answer = self.recurring.stored_payment_methods(
                {
                    "merchantAccount": self.emulator.merchant_account,
                    "shopperReference": shopper,
                    "recurringProcessingModel": "UnscheduledCardOnFile",
                    "paymentMethod": {
                        "type": "scheme",
                        "encryptedCardNumber": f"test_{PANS[number % len(PANS)]}",
                    },
                }
            ).message
            token = card_token(shopper, answer["id"], self.emulator.merchant_account,
                               brand=answer["brand"], last4=answer["lastFour"])  # fmt: skip
            self.stored[number] = attrs.evolve(token, expiry="2030-12", reusable=number % 3 != 0)
        return self.stored[number]

    def _fault(self, kind: str, fault: str) -> None:
        call = CALLS.get(kind)
        action = DECLINES.get(call or "") if fault == "decline" else ACTIONS.get(fault)
        if call is None or action is None:
            return
        self.faults += 1
        event(f"emulator: {call} {action}")
        self.emulator.script(call, action)

    def _drain_scripts(self) -> None:
        self.emulator.clear_scripts()

    def _simulated_pending(self) -> tuple[str, ...]:
        return ()  # Adyen's calls are settled by its webhooks, not by the notify rule

    def _moved_keys(self) -> list[str]:
        return [r.merchant_reference for r in self.emulator.records() if _moved(r)]

    def teardown(self) -> None:
        """Stop the run's emulator after the machine's own teardown."""
        super().teardown()
        if hasattr(self, "emulator"):
            self.emulator.close()

    # -- webhooks ------------------------------------------------------------------------
    def _key(self, record: Record) -> str:
        return record.merchant_reference.removeprefix(f"{self.namespace}:")

    def _rejected_later(self) -> set[str]:
        """Keys of captures and refunds the scheme rejected after Adyen accepted them."""
        rejected = ("capture_failed", "refund_failed")
        return {self._key(r) for r in self.emulator.records() if r.state in rejected}

    def _handle(self, body: str) -> None:
        """A host's webhook handler: parse, check and hand over each item (N2)."""
        for note in notifications(body, self.emulator.hmac_key, namespace=self.namespace):
            result = self.bo.handle_notification(note)
            self._check_delivery(note, result.applied, result.duplicate, result.unmatched)

    def _check_delivery(
        self, note: Notification, applied: bool, duplicate: bool, unmatched: bool
    ) -> None:
        """Each webhook item is applied once, then a duplicate; one is left unmatched only
        when it contradicts the other webhook of a call the scheme rejected after Adyen
        accepted it (CAPTURE and CAPTURE_FAILED, REFUND and REFUND_FAILED)."""
        assert applied + duplicate + unmatched == 1
        if unmatched:
            assert note.key in self._rejected_later(), note.notification_id
        elif note.notification_id in self.applied:
            assert duplicate, note.notification_id
        if applied:
            self.applied.add(note.notification_id)
        event("webhook item: " + ("applied" if applied else "duplicate" if duplicate
                                  else "kept for review"))  # fmt: skip

    @precondition(lambda self: bool(self.emulator.webhooks()))
    @rule(data=st.data(), hold_back=st.integers(min_value=0, max_value=3),
          duplicate=st.booleans(), shuffle=st.booleans())  # fmt: skip
    def webhooks_arrive(
        self, data: st.DataObject, hold_back: int, duplicate: bool, shuffle: bool
    ) -> None:
        """Adyen's webhooks arrive now, but for the newest few, in any order (reversed, or
        shuffled with some twice), maybe all twice (N2)."""
        if not shuffle:
            reverse = data.draw(st.booleans())
            self.emulator.deliver(self._handle, duplicate=duplicate, reverse=reverse,
                                  hold_back=hold_back)  # fmt: skip
            return
        taken = self.emulator.deliver(lambda body: None, hold_back=hold_back)
        again = data.draw(st.lists(st.sampled_from(taken), max_size=3)) if taken else []
        for body in data.draw(st.permutations(taken + again)):
            self._handle(body)

    # -- V5, V8 ---------------------------------------------------------------------------
    def _reconciles(self) -> None:
        """V5 after recovery (N3: calls in doubt replayed) and every webhook delivered:
        Adyen's settled captures, refunds and authorizations are ocop's, and each
        payment's open amount is the open amount of ocop's authorization; a call the
        scheme rejected after Adyen accepted it is either undone by ocop or kept for
        review. V8: no card number used is in any stored value."""
        self.webhook_rounds += 1
        self.emulator.deliver(self._handle, duplicate=True,
                              reverse=self.webhook_rounds % 2 == 0)  # fmt: skip
        self._finish_renewals_webhooks_settled()
        records = self.emulator.records()
        rejected = self._rejected_later()
        reviewed = {n.key for n in self.bo.notifications_for_review()}
        for order_id in self.ids:
            order = self._order(order_id)
            mine = [r for r in records if self._key(r).startswith(f"{order_id}/")]
            cards = [ln for ln in order.lines if ln.is_card]
            captures = [c for ln in cards for c in ln.captures]
            refunds = [r for ln in cards for r in ln.refunds]
            assert not any(c.pending for c in captures)  # every webhook came
            assert not any(r.pending for r in refunds)
            for kind, ours in (
                ("capture", {c.capture_id: c.amount.minor for c in captures}),
                ("refund", {r.refund_id: r.amount.minor for r in refunds}),
            ):
                theirs = {self._key(r): r.value for r in mine
                          if r.kind == kind and r.state == "succeeded"}  # fmt: skip
                for key in rejected & set(ours):
                    assert key in reviewed  # not undone: kept for a person to reconcile
                assert {k: v for k, v in ours.items() if k not in rejected} == theirs
            self._log_agrees(order_id, mine)
            authorized = [r for r in mine if r.kind == "authorise" and r.state == "authorised"]
            auths = [a for ln in cards for a in ln.authorizations]
            assert len(authorized) == len(auths)
            parted = {r.payment_psp_reference for r in mine if not _agreed(r)}
            for auth in auths:
                psp = decode_reference(auth.token.value)
                if auth.lapsed or psp in parted:
                    continue
                assert self.emulator.remaining(psp) == auth.open_amount.minor
        self._no_card_numbers_stored()

    def _finish_renewals_webhooks_settled(self) -> None:
        """A renewal whose call in doubt a webhook settled before ``recover()`` ran is not
        recovery's to finish (it resolved nothing of it): the job's next run finishes it,
        re-authorized or held (A2), as after a crash between the void and the new
        authorization; its webhooks follow."""
        left = [o for o in self.ids if any(ln.renewing for ln in self._order(o).lines)]
        if not left:
            return
        event("a renewal settled by a webhook, finished by the next run")
        report = self.bo.renew_authorizations()
        for order_id in left:
            assert order_id in (*report.renewed, *report.held, *report.declined)
        self.emulator.deliver(self._handle, duplicate=True)

    def _log_agrees(self, order_id: str, records: list[Record]) -> None:
        """Every call Adyen booked is in ocop's operation log, settled as Adyen settled it
        (a call the scheme rejected after Adyen accepted it: either way)."""
        ops = {op.key: op for op in self.bo.operations(order_id)}
        for record in records:
            op = ops[self._key(record)]
            if record.state in ("authorised", "succeeded"):
                assert op.outcome is Outcome.APPROVED, op.key
            elif record.state in ("refused", "failed"):
                assert op.outcome is Outcome.DECLINED, op.key
            else:  # kept approved for review, or undone: settled either way
                assert op.outcome is not None, op.key
                assert op.outcome.definitive, op.key

    def _no_card_numbers_stored(self) -> None:
        """V8: none of the card numbers stored at Adyen is in anything ocop keeps."""
        kept: list[object] = [self.bo.notifications_for_review()]
        for order_id in self.ids:
            kept += [attrs.asdict(self._order(order_id)), self.bo.operations(order_id),
                     self.bo.journal(order_id)]  # fmt: skip
        text = repr(kept)
        assert not any(pan in text for pan in PANS)


def _moved(record: Record) -> bool:
    """Whether Adyen booked the record as moving money (or changing an authorization)."""
    return record.state in ("authorised", "succeeded", "capture_failed", "refund_failed")


def _agreed(record: Record) -> bool:
    """Whether the books of both sides say the same of this record once its webhooks are
    in: not a cancel or amount update Adyen refused (ocop counted it done and keeps the
    webhook for review) nor a call the scheme rejected after Adyen accepted it."""
    if record.kind in ("cancel", "amount_update"):
        return record.state == "succeeded"
    return record.state in ("authorised", "refused", "succeeded", "failed")


def test_the_emulator_forgets_unused_scripts_and_tells_what_a_payment_has_open() -> None:
    """What the machine asks of the emulator besides its scripts: a script no call used is
    forgotten before the next step, and a payment's open amount is read for V5."""
    with AdyenEmulator() as emulator:
        config = AdyenConfig(api_key=emulator.api_key, merchant_account=emulator.merchant_account,
                             namespace="t", checkout_url=emulator.checkout_url)  # fmt: skip
        adyen = AdyenProcessor(config)
        client = Adyen.Adyen(xapikey=emulator.api_key, platform="test")
        client.checkout.recurring_api.baseUrl = emulator.checkout_url
        stored = client.checkout.recurring_api.stored_payment_methods(
            {"merchantAccount": emulator.merchant_account, "shopperReference": "S-1",
             "recurringProcessingModel": "UnscheduledCardOnFile",
             "paymentMethod": {"type": "scheme", "encryptedCardNumber": f"test_{PANS[0]}"}}
        ).message  # fmt: skip
        card = card_token("S-1", stored["id"], emulator.merchant_account, brand="visa",
                          last4=stored["lastFour"])  # fmt: skip
        auth = adyen.authorize("K-1", card, Money.of("10.00", "EUR")).token
        assert isinstance(auth, AuthorizationToken)
        emulator.script("captures", "error")
        emulator.clear_scripts()
        taken = adyen.capture("K-2", auth, Money.of("4.00", "EUR"))
        assert taken.outcome is Outcome.PENDING  # not the 5xx scripted before
        assert emulator.remaining(decode_reference(auth.value)) == 600
        assert emulator.remaining("no-such-payment") is None


class AdyenLifecycleOnSqlite(OnSqlite, AdyenLifecycle):
    """The same, every back office of the run in a fresh SQLite file."""


# An HTTP round trip per call, yet a run takes a fraction of a second: a quarter of the
# profile's examples (the ci profile: 50, a quarter of a minute), a tenth on SQLite.
AdyenLifecycle.TestCase.settings = settings(
    max_examples=max(15, settings().max_examples // 4), stateful_step_count=30, deadline=None
)
AdyenLifecycleOnSqlite.TestCase.settings = settings(
    max_examples=max(5, settings().max_examples // 10), stateful_step_count=30, deadline=None
)
TestAdyenLifecycle = AdyenLifecycle.TestCase
TestAdyenLifecycleOnSqlite = AdyenLifecycleOnSqlite.TestCase
