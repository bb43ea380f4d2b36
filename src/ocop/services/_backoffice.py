"""The back-office facade over the ports: one object, every use case.

:class:`BackOfficeServices` depends on ports only. ``ocop.BackOffice`` adds the
factories that wire the bundled adapters (``BackOffice.in_memory()``). Each use case's
module is imported when the use case is first called, so a host pays at start-up only
for what it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

from ocop.domain.draft import CompletionDraft
from ocop.domain.edge import (
    check_bool,
    check_count,
    check_id,
    check_ids,
    check_instance,
    check_items,
    check_member,
    check_moment,
    check_money,
    check_text,
)
from ocop.domain.errors import InvalidArgument, InvalidInput
from ocop.domain.hold_release import MAX_NOTE_LENGTH, check_reason
from ocop.domain.journal import Voucher
from ocop.domain.money import Money
from ocop.domain.notifications import Notification, NotificationResult
from ocop.domain.order import Channel, HoldCode, Order, OrderStatus
from ocop.domain.parties import Actor, Customer
from ocop.domain.payments import CardPayment, ChannelPayment, Prepayment, SavedCardPayment
from ocop.domain.settings import Settings
from ocop.domain.tokens import CardToken, SavedInstrument
from ocop.ports import Ports
from ocop.ports.clock import CheckedClock, Clock
from ocop.ports.journal import PaymentJournal
from ocop.ports.processor import PaymentProcessor
from ocop.ports.store import OrderStore
from ocop.services._logs import logger

if TYPE_CHECKING:
    from ocop.domain.operations import OperationRecord
    from ocop.services._administration import CancelResult
    from ocop.services._completion import SubmitResult
    from ocop.services._invoicing import InvoiceResult
    from ocop.services._recovery import RecoveryReport
    from ocop.services._refunds import RefundResult
    from ocop.services._renewals import RenewalReport


class BackOfficeServices:
    """Every back-office use case over explicit ports."""

    def __init__(
        self,
        *,
        store: OrderStore,
        processor: PaymentProcessor,
        journal: PaymentJournal,
        settings: Settings,
        clock: Clock,
    ) -> None:
        # E1: every reading of the host's clock is checked (a naive time raises before
        # anything is stored or sent); ``clock`` gives back the host's own.
        checked = CheckedClock(clock)
        self._ports = Ports(
            store=store, processor=processor, journal=journal, clock=checked, settings=settings
        )
        #: Who this back office claims orders as, in jobs that several workers run at once.
        self._holder = f"ocop-{uuid4().hex}"
        for warning in settings.warnings():  # F1, F3: discouraged settings, said at start
            _log.warning("%s", warning)

    @property
    def ports(self) -> Ports:
        """What this back office is wired with: store, processor, journal, settings, clock."""
        return self._ports

    @property
    def settings(self) -> Settings:
        """The settings in force (:meth:`with_settings` gives a back office under others)."""
        return self._ports.settings

    @property
    def processor(self) -> PaymentProcessor:
        """The payment processor every call goes to."""
        return self._ports.processor

    @property
    def clock(self) -> Clock:
        """The clock that dates every change (and decides expiries and check holds)."""
        clock = self._ports.clock
        return clock.inner if isinstance(clock, CheckedClock) else clock

    # -- channel side ------------------------------------------------------------------
    def place_order(
        self,
        order_id: str,
        *,
        channel: Channel,
        customer: Customer,
        total: Money,
        payments: Iterable[ChannelPayment] = (),
        created_by: Actor | None = None,
        deposit: bool = False,
    ) -> Order:
        """Record an order from a channel with the payments it took (S3); ``deposit``:
        a POS customer order takes them as its deposit (D1)."""
        from ocop.services import _placement as placement

        check_id(order_id, "order_id")
        check_member(channel, Channel, "channel")
        check_instance(customer, Customer, "customer")
        check_money(total, "total")
        payments = check_items(payments, _PAYMENTS, "payments")
        if created_by is not None:
            check_instance(created_by, Actor, "created_by")
        check_bool(deposit, "deposit")

        return placement.place_order(
            self._ports,
            order_id,
            channel=channel,
            customer=customer,
            total=total,
            payments=payments,
            created_by=created_by,
            deposit=deposit,
        )

    def save_instrument(
        self, customer: Customer, card: CardToken, *, consent: bool
    ) -> SavedInstrument:
        """T1: save a card for a named customer who consented."""
        from ocop.services import _instruments as instruments

        check_instance(customer, Customer, "customer")
        check_instance(card, CardToken, "card")
        check_bool(consent, "consent")

        return instruments.save_instrument(self._ports, customer, card, consent=consent)

    def saved_instruments(self, customer: Customer) -> tuple[SavedInstrument, ...]:
        """T1: the customer's own saved cards, as the processor lists them; a guest has none."""
        from ocop.services import _instruments as instruments

        check_instance(customer, Customer, "customer")

        return instruments.saved_instruments(self._ports, customer)

    # -- back office -------------------------------------------------------------------
    def begin_completion(self, order_id: str, actor: Actor) -> CompletionDraft:
        """A pure draft of the order's payment lines (P1, P2)."""
        from ocop.services import _completion as completion

        check_id(order_id, "order_id")
        check_instance(actor, Actor, "actor")

        return completion.begin_completion(self._ports, order_id, actor)

    def submit(self, draft: CompletionDraft) -> SubmitResult:
        """Run the draft's processor calls, validate, place holds (S1-S3).

        A line whose single-use card token was authorized already and would have to be
        authorized again (C3 without adjustments, C5) is refused with
        :class:`~ocop.domain.errors.InvalidDraftEdit` before any call."""
        from ocop.services import _completion as completion

        check_instance(draft, CompletionDraft, "draft")

        return completion.submit(self._ports, draft)

    def change_total(self, order_id: str, total: Money, actor: Actor) -> Order:
        """The order was edited to a new total; it needs completion again (S3)."""
        from ocop.services import _administration as administration

        _order_call(order_id, actor)
        check_money(total, "total")
        if total.is_negative():  # E1: the argument's own fault, before the order is read
            raise InvalidInput("an order total is non-negative Money")

        return administration.change_total(self._ports, order_id, total, actor)

    def cancel_order(self, order_id: str, actor: Actor) -> CancelResult:
        """X1: void what is uncaptured; ``.order`` is the order as stored now."""
        from ocop.services import _administration as administration

        _order_call(order_id, actor)

        return administration.cancel_order(self._ports, order_id, actor)

    def release_hold(self, order_id: str, code: HoldCode, actor: Actor) -> Order:
        """S4: release a hold once its own cause is gone (or with ``hold_override``); the
        order as stored, the release kept in ``released_holds``."""
        from ocop.services import _administration as administration

        _order_call(order_id, actor)
        check_member(code, HoldCode, "code")

        return administration.release_hold(self._ports, order_id, code, actor)

    def place_hold(
        self, order_id: str, code: HoldCode, actor: Actor, *, reason: str, note: str = ""
    ) -> Order:
        """S4: put the order on a manual hold (``HoldCode.MANUAL`` only) with a reason code
        from ``settings.hold_reasons`` and an optional note; the order as stored."""
        from ocop.services import _administration as administration

        _order_call(order_id, actor)
        check_member(code, HoldCode, "code")
        if code is not HoldCode.MANUAL:
            raise InvalidArgument(
                "only HoldCode.MANUAL holds are placed by hand; the others follow from their "
                "cause (S4)",
                argument="code",
            )
        check_reason(check_id(reason, "reason"), self.settings)
        check_text(note, "note", MAX_NOTE_LENGTH)

        return administration.place_hold(
            self._ports, order_id, code, actor, reason=reason, note=note
        )

    # -- fulfilment --------------------------------------------------------------------
    def invoice(self, order_id: str, invoice_id: str, amount: Money) -> InvoiceResult:
        """Capture ``amount`` for an invoice (I1-I5); retrying never captures twice (I4)."""
        from ocop.services import _invoicing as invoicing

        _invoice_call(order_id, invoice_id, amount)

        return invoicing.invoice(self._ports, order_id, invoice_id, amount)

    def pickup(self, order_id: str, invoice_id: str, amount: Money) -> InvoiceResult:
        """Capture at the store for an order from another channel (I6)."""
        from ocop.services import _invoicing as invoicing

        _invoice_call(order_id, invoice_id, amount)

        return invoicing.invoice(self._ports, order_id, invoice_id, amount, pickup=True)

    # -- returns -----------------------------------------------------------------------
    def refund(
        self,
        order_id: str,
        return_id: str,
        amount: Money,
        actor: Actor,
        invoices: Sequence[str] = (),
    ) -> RefundResult:
        """Refund a return: linked refunds over captures, the rest by fallback (R1-R3, R5)."""
        from ocop.services import _refunds as refunds

        _refund_call(order_id, return_id, amount, actor)
        invoices = check_ids(invoices, "invoices")

        return refunds.refund(self._ports, order_id, return_id, amount, actor, invoices=invoices)

    def refund_to_card(
        self, order_id: str, return_id: str, card: CardToken, amount: Money, actor: Actor
    ) -> RefundResult:
        """R4: refund to a card that did not pay the order (needs the permission)."""
        from ocop.services import _refunds as refunds

        _refund_call(order_id, return_id, amount, actor)
        check_instance(card, CardToken, "card")

        return refunds.refund_to_card(self._ports, order_id, return_id, card, amount, actor=actor)

    def recover(self) -> RecoveryReport:
        """Resolve processor calls in doubt, finish the authorization renewals they
        interrupted, and post pending vouchers (O2, A2).

        Each call is asked about (N3) only through a processor that serves the connector
        and service account it was made with (I5); a call of an account the processor
        wired here does not serve is not asked (that processor never received it, and
        would say so): it stays in ``still_in_doubt``, logged with its account. The
        report's ``releases`` lists the voids this run sent to release authorizations
        nothing will capture any more (:class:`~ocop.domain.renewal.ReleaseVoid`)."""
        from ocop.services import _recovery as recovery

        return recovery.recover(self._ports, f"{self._holder}:recover")

    def handle_notification(self, notification: Notification) -> NotificationResult:
        """Apply a processor notification (N1, N2): it settles the pending (or in doubt)
        operation it names exactly once; a failed pending capture or refund is undone, a
        failed pending void's authorization is voided again by the next renewal run (V5);
        the same notification again is a duplicate and changes nothing; one that matches
        nothing is kept for review (:meth:`notifications_for_review`), never dropped."""
        from ocop.services import _notifications as notifications

        check_instance(notification, Notification, "notification")
        return notifications.handle_notification(self._ports, notification)

    def notifications_for_review(self) -> tuple[Notification, ...]:
        """Notifications ocop kept because it could not apply them, oldest first."""
        return self._ports.store.kept_for_review()

    def renew_authorizations(self) -> RenewalReport:
        """The authorization renewal job (A1, A2): renew open authorizations that expire
        within ``settings.authorization.renew_within_days`` (void, then authorize again
        with the line's reusable card token), decline and hold what cannot be renewed, and
        void open authorizations that nothing will capture (cancelled or fully invoiced
        orders), and void again those whose pending void the processor refused (V5).
        Works through every batch; safe to run twice, and from several workers at once
        (each claims the orders it works on). Run it on a schedule, e.g. daily."""
        from ocop.services import _renewals as renewals

        return renewals.renew_authorizations(self._ports, self._holder)

    # -- reading -----------------------------------------------------------------------
    def order(self, order_id: str) -> Order:
        """The order as stored, as of the clock's now: a check hold whose days have passed
        is in ``released_holds``, not ``holds`` (:class:`OrderNotFound` if there is none)."""
        check_id(order_id, "order_id")
        with self._ports.store.unit_of_work() as uow:
            order = uow.orders.get(order_id)
        return order.as_of(self._ports.clock.now())

    def operations(self, order_id: str) -> tuple[OperationRecord, ...]:
        """The order's operation log, oldest intent first: every processor call with its
        kind, amount, outcome, the processor's reason and when (:class:`OrderNotFound` if
        there is no such order)."""
        check_id(order_id, "order_id")
        with self._ports.store.unit_of_work() as uow:
            uow.orders.get(order_id)  # OrderNotFound for an unknown order
            return tuple(op.record() for op in uow.operations.for_order(order_id))

    def orders(
        self,
        *,
        on_hold: bool | None = None,
        in_doubt: bool | None = None,
        expiring_before: datetime | None = None,
        status: OrderStatus | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> tuple[str, ...]:
        """The ids of the orders that pass every filter given (None: any), as of the
        clock's now, in the order they were placed.

        ``on_hold``: held now (a check hold whose days have passed no longer holds, as in
        :meth:`order`; a cancelled order keeps its holds on record only, and is not held).
        ``in_doubt``: a processor call of the order awaits recovery (O2).
        ``expiring_before``: an open authorization on an active line expires (its
        ``settings.authorization.expiry_days`` end) before this moment. ``status``: the
        order's status now. Paging: ``limit`` ids at most (1 to
        :data:`MAX_PAGE`), ``after`` the last id of the page before
        (:class:`OrderNotFound` if there is no such order). Served by indexes: the cost
        grows with the orders that match, not with the orders stored.
        """
        from ocop.domain.queries import OrderQuery, authorized_by_expiry

        if on_hold is not None:
            check_bool(on_hold, "on_hold")
        if in_doubt is not None:
            check_bool(in_doubt, "in_doubt")
        if expiring_before is not None:
            check_moment(expiring_before, "expiring_before")
        if status is not None:
            check_member(status, OrderStatus, "status")
        if limit is not None:
            check_count(limit, "limit", MAX_PAGE)
        if after is not None:
            check_id(after, "after")

        authorized_before = None
        if expiring_before is not None:
            expiry_days = self.settings.authorization.expiry_days
            authorized_before = authorized_by_expiry(expiring_before, expiry_days)
        query = OrderQuery(
            on_hold=on_hold,
            in_doubt=in_doubt,
            authorized_before=authorized_before,
            status=status,
            limit=limit,
            after=after,
        )
        now = self._ports.clock.now()
        with self._ports.store.unit_of_work() as uow:
            return uow.orders.query(query, now)

    def journal(self, order_id: str) -> tuple[Voucher, ...]:
        """The order's posted vouchers, oldest first: ``()`` for an order with none yet
        (:class:`OrderNotFound` if there is no such order, as for :meth:`operations`)."""
        check_id(order_id, "order_id")
        with self._ports.store.unit_of_work() as uow:
            uow.orders.get(order_id)  # OrderNotFound for an unknown order
        return self._ports.journal.vouchers(order_id)


#: The most ids one call of :meth:`BackOfficeServices.orders` returns.
MAX_PAGE = 100_000

_PAYMENTS = (CardPayment, SavedCardPayment, Prepayment)
_log = logger("ocop.settings")


def _order_call(order_id: object, actor: object) -> None:
    check_id(order_id, "order_id")
    check_instance(actor, Actor, "actor")


def _invoice_call(order_id: object, invoice_id: object, amount: object) -> None:
    check_id(order_id, "order_id")
    check_id(invoice_id, "invoice_id")
    check_money(amount, "amount")


def _refund_call(order_id: object, return_id: object, amount: object, actor: object) -> None:
    check_id(order_id, "order_id")
    check_id(return_id, "return_id")
    check_money(amount, "amount")
    check_instance(actor, Actor, "actor")
