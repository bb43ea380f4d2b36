"""Invoicing and pickup: captures over several invoices (rules I1-I6, O3, S3).

Each capture is one operation whose key derives from (order, invoice, line,
authorization): retrying an invoice after a failure, a crash or by mistake
finds the captures already made and never captures again (I4). With duplicate
payment protection off, every attempt gets new keys, as before the feature.
"""

from __future__ import annotations

import attrs

from ocop.domain.effects import Applied
from ocop.domain.errors import ConnectorMismatch, FeatureDisabled, IllegalTransition
from ocop.domain.invoicing import (
    AuthorizationAge,
    age_of,
    check_invoice,
    covered,
    plan_parts,
    split_over_authorizations,
)
from ocop.domain.money import Money
from ocop.domain.operations import Operation, Outcome
from ocop.domain.order import Hold, HoldCode, Invoice, Order, PaymentsType
from ocop.domain.tender import Capture, PaymentLine
from ocop.services import calls
from ocop.services.runner import Ports, change_order, require_no_doubt


@attrs.frozen(kw_only=True)
class InvoiceResult:
    """What an invoice (or pickup) came to.

    ``captures``: every capture and prepayment application of this invoice so
    far; ``uncovered``: what no payment covered; ``failed``: lines whose capture
    failed; ``in_doubt``: a capture's outcome is unknown, run ``recover()``.
    """

    invoice_id: str
    order: Order
    captures: tuple[Capture, ...]
    uncovered: Money
    failed: tuple[str, ...] = ()
    in_doubt: bool = False
    new_payment_required: bool = False


def _gate(ports: Ports, order: Order) -> None:
    if order.payments_type is PaymentsType.COMMERCE and not ports.settings.ocop:
        raise FeatureDisabled(
            f"order {order.order_id} is a commerce order: processed only while omni-channel "
            "order payments is on",
            feature="omni_channel_order_payments",
        )
    if not order.approved:
        raise IllegalTransition(
            f"order {order.order_id} is {order.status.value}: "
            "only approved orders are invoiced (S3)",
            order_id=order.order_id,
        )


def invoice(
    ports: Ports, order_id: str, invoice_id: str, amount: Money, *, pickup: bool = False
) -> InvoiceResult:
    """Capture ``amount`` for ``invoice_id`` from the order's payments (I1-I6)."""
    protect = ports.settings.features.duplicate_payment_protection
    with ports.store.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        require_no_doubt(uow, order_id)
    repeat = check_invoice(order, invoice_id, amount)
    if order.cancelled:
        raise IllegalTransition(f"order {order_id} is cancelled", order_id=order_id)
    _gate(ports, order)  # every attempt, first or repeated (P2, S3)
    remaining = amount - covered(order, invoice_id) if protect else amount
    parts, uncovered = plan_parts(order, remaining)
    _require_accounts(ports, order, [p.line_id for p in parts if not p.prepayment])
    if not repeat:
        record = Invoice(invoice_id=invoice_id, amount=amount, invoiced_at=ports.clock.now())
        change_order(ports, order_id, lambda o: Applied(order=o.with_invoice(record)))
    state = _Run(ports=ports, order_id=order_id, invoice_id=invoice_id, pickup=pickup)
    if order.approved and remaining.is_positive():
        # I2 after recover(): a partial single capture settled by recovery released the
        # rest of its authorization, which the interrupted run did not re-authorize.
        for line in order.lines:
            if line.is_card and line.active and not line.pending_removal:
                state.reauthorize_released(line.line_id)
        parts, uncovered = plan_parts(calls.load(ports, order_id), remaining)
    for part in parts:
        if state.in_doubt:
            break
        if part.prepayment:
            _apply_prepayment(ports, order_id, invoice_id, part.line_id, part.amount)
        else:
            state.capture_line(part.line_id, part.amount)
    if state.expired:
        hold = Hold(
            code=HoldCode.AUTHORIZATION_EXPIRED,
            reason="an authorization expired and could not be renewed",
            placed_at=ports.clock.now(),
        )
        change_order(ports, order_id, lambda o: Applied(order=o.with_hold(hold)))
    final = calls.load(ports, order_id)
    return InvoiceResult(
        invoice_id=invoice_id,
        order=final,
        captures=tuple(
            c for line in final.lines for c in line.captures if c.invoice_id == invoice_id
        ),
        uncovered=amount - covered(final, invoice_id) if protect else uncovered,
        failed=tuple(state.failed),
        in_doubt=state.in_doubt,
        new_payment_required=state.new_payment,
    )


def _require_accounts(ports: Ports, order: Order, line_ids: list[str]) -> None:
    """I5: capture goes through the connector and service account that authorized."""
    caps = ports.processor.capabilities
    for line_id in line_ids:
        for auth in order.line(line_id).open_authorizations():
            if (auth.token.connector, auth.token.service_account) != (
                caps.connector,
                caps.service_account,
            ):
                raise ConnectorMismatch(
                    f"authorization {auth.auth_id} belongs to {auth.token.connector}/"
                    f"{auth.token.service_account}, not {caps.connector}/{caps.service_account}"
                )


def _apply_prepayment(
    ports: Ports, order_id: str, invoice_id: str, line_id: str, amount: Money
) -> None:
    now = ports.clock.now()

    def apply(order: Order) -> Applied:
        line = order.line(line_id)
        application = Capture(
            capture_id=f"{order_id}/apply:{invoice_id}:{line_id}#{len(line.captures) + 1}",
            line_id=line_id,
            invoice_id=invoice_id,
            amount=amount,
            refunded=Money.zero(amount.currency),
            captured_at=now,
        )
        return Applied(order=order.with_line(line.applied(application)))

    change_order(ports, order_id, apply)


@attrs.define
class _Run:
    """One invoice run: where it captures, and what happened so far."""

    ports: Ports
    order_id: str
    invoice_id: str
    pickup: bool
    failed: list[str] = attrs.Factory(list)
    in_doubt: bool = False
    expired: bool = False
    new_payment: bool = False

    def line(self, line_id: str) -> PaymentLine:
        return calls.load(self.ports, self.order_id).line(line_id)

    def ok(self, op: Operation, line_id: str) -> bool:
        """Whether ``op`` was approved; notes a failure or a doubt."""
        if op.in_doubt:
            self.in_doubt = True
            return False
        if op.outcome is not None and op.outcome.failed:
            self.failed.append(line_id)
            return False
        return True

    def capture_line(self, line_id: str, amount: Money) -> None:
        for old_auth_id, part in split_over_authorizations(self.line(line_id), amount):
            if self.in_doubt:
                return
            auth_id = self.renewed(line_id, old_auth_id)
            if auth_id is None:
                continue
            if self.ok(self.capture(line_id, auth_id, part), line_id):
                self.reauthorize_released(line_id)
            elif self.pickup and not self.in_doubt:
                self.pickup_retry(line_id, auth_id, part)

    def capture(self, line_id: str, auth_id: str, amount: Money) -> Operation:
        return calls.capture(
            self.ports, self.order_id, line_id, auth_id, amount, invoice_id=self.invoice_id
        )

    def renewed(self, line_id: str, auth_id: str) -> str | None:
        """I3: the authorization to capture on, renewed when expired; None when it cannot be."""
        line = self.line(line_id)
        auth = line.authorization(auth_id)
        age = age_of(auth, self.ports.clock.now(), self.ports.settings.authorization)
        if age is AuthorizationAge.FRESH:
            return auth_id
        self.expired = True
        if age is AuthorizationAge.STALE:
            self.failed.append(line_id)  # refused locally: no processor call
            return None
        assert line.card is not None
        reusable = line.card.reusable
        purpose = "reauthorize" if reusable else "expired"
        if not self.ok(calls.void(self.ports, self.order_id, line_id, auth_id, purpose), line_id):
            return None
        if not reusable:
            self.failed.append(line_id)
            return None
        renewed = calls.authorize(self.ports, self.order_id, line_id, auth.open_amount)
        if not self.ok(renewed, line_id):
            return None
        self.expired = False
        return renewed.ctx("auth_id")

    def reauthorize_released(self, line_id: str) -> None:
        """I2: after a partial capture on a single-capture authorization, re-authorize the rest."""
        line = self.line(line_id)
        assert line.card is not None
        missing = line.amount - line.captured - line.authorized
        if not missing.is_positive() or not line.card.reusable or line.open_authorizations():
            return
        self.ok(calls.authorize(self.ports, self.order_id, line_id, missing), line_id)

    def pickup_retry(self, line_id: str, auth_id: str, part: Money) -> None:
        """I6: a failed pickup capture is retried once as a new authorization + capture.

        The failed authorization is voided first, and the new one takes over all that
        was open on it, so the customer's card never holds the same money twice.
        """
        line = self.line(line_id)
        assert line.card is not None
        still_open = line.authorization(auth_id).open_amount
        if still_open.is_positive():
            void = calls.void(self.ports, self.order_id, line_id, auth_id, "reauthorize")
            if void.in_doubt:
                self.in_doubt = True
                return
            if void.outcome is not Outcome.APPROVED:
                self.new_payment = True  # the old authorization still holds the money
                return
        fresh = calls.authorize(self.ports, self.order_id, line_id, still_open.max(part))
        if self.ok(fresh, line_id) and self.ok(
            self.capture(line_id, fresh.ctx("auth_id"), part), line_id
        ):
            self.failed = [x for x in self.failed if x != line_id]
            return
        if not self.in_doubt:
            self.new_payment = True
