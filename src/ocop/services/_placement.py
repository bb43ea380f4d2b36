"""Placing orders from a channel (the channel side of C1, P2, S3).

POS and e-commerce orders arrive with the payments their channel took: cards
are authorized (a saved card is first tokenized with its CVV), prepayments
posted, and the order validated as at submit. Call center orders are placed
*pending completion*: their lines are authorized when completion submits them.

A POS order of a named customer may take its payments as a deposit (D1): cards,
cash or checks adding up to the default percent of the total (another amount needs
the ``deposit_override`` permission); each card is captured at once, before any
invoice, once the order is validated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import uuid4

import attrs

from ocop.domain.deposits import DEPOSIT_METHODS, default_deposit
from ocop.domain.draft import POS_CHECK_NUMBER, parse_method
from ocop.domain.errors import (
    ConcurrentUpdate,
    CurrencyMismatch,
    DuplicateOrder,
    FeatureDisabled,
    InvalidInput,
    PermissionDenied,
)
from ocop.domain.money import Money, total
from ocop.domain.order import Channel, Order, PaymentsType
from ocop.domain.parties import DEPOSIT_OVERRIDE, Actor, Customer
from ocop.domain.payments import CardPayment, ChannelPayment, Prepayment, SavedCardPayment
from ocop.domain.tender import PaymentLine, PaymentMethod
from ocop.domain.tokens import pick_instrument
from ocop.ports import Ports
from ocop.services._completion import complete
from ocop.services._gates import completion_enabled, require_same_account
from ocop.services._renewals import claimed


def _money(order_currency: str, amount: Money) -> Money:
    if not isinstance(amount, Money):
        raise InvalidInput("payment amounts are Money values")
    if amount.currency != order_currency:
        message = f"a payment in {amount.currency} on an order in {order_currency} (V7)"
        raise CurrencyMismatch(amount.currency, order_currency, message)
    if not amount.is_positive():
        raise InvalidInput("a payment amount must be positive")
    return amount


def _lines(
    ports: Ports,
    channel: Channel,
    customer: Customer,
    order_total: Money,
    payments: Iterable[ChannelPayment],
) -> tuple[tuple[PaymentLine, ...], dict[str, str]]:
    """Payment lines for the channel's payments, and the CVVs by line id."""
    currency = order_total.currency
    lines: list[PaymentLine] = []
    cvvs: dict[str, str] = {}
    instruments = ports.processor.instruments(customer.customer_id) if customer.customer_id else ()
    for number, payment in enumerate(payments, start=1):
        line_id = f"L{number}"
        if isinstance(payment, CardPayment):
            require_same_account(payment.card, ports.processor.capabilities)
            amount = _money(currency, payment.amount)
            lines.append(PaymentLine.card_line(line_id, payment.card, amount))
        elif isinstance(payment, SavedCardPayment):
            instrument = pick_instrument(instruments, payment.instrument_id, customer.customer_id)
            amount = _money(currency, payment.amount)
            line = PaymentLine.card_line(
                line_id, instrument.card, amount, instrument_id=instrument.instrument_id
            )
            lines.append(attrs.evolve(line, needs_tokenize=True))
            cvvs[line_id] = payment.cvv
        elif isinstance(payment, Prepayment):
            lines.append(_prepayment(line_id, channel, customer, payment, currency))
        else:
            raise InvalidInput(f"unknown payment {type(payment).__name__}")
    _check_prepayment_limits(lines, customer, order_total)
    return tuple(lines), cvvs


def _prepayment(
    line_id: str, channel: Channel, customer: Customer, payment: Prepayment, currency: str
) -> PaymentLine:
    method = parse_method(payment.method)
    if method is PaymentMethod.CARD:
        raise InvalidInput("a card is paid with CardPayment or SavedCardPayment")
    amount = _money(currency, payment.amount)
    check_number = payment.check_number
    if method is PaymentMethod.CHECK and not check_number:
        if channel is not Channel.POS:
            raise InvalidInput("a check needs its check number")
        check_number = POS_CHECK_NUMBER  # POS checks carry no number of their own
    if method is PaymentMethod.CUSTOMER_ACCOUNT and customer.on_account_limit is None:
        raise InvalidInput(
            "customer account payments need a named customer with an on-account limit"
        )
    return PaymentLine.prepayment_line(line_id, method, amount, check_number=check_number)


def _check_prepayment_limits(
    lines: list[PaymentLine], customer: Customer, order_total: Money
) -> None:
    currency = order_total.currency
    on_account = total(
        (x.amount for x in lines if x.method is PaymentMethod.CUSTOMER_ACCOUNT), currency
    )
    limit = customer.on_account_limit
    if on_account.is_positive() and limit is not None and limit.currency != currency:
        raise CurrencyMismatch(
            limit.currency,
            currency,
            f"the customer's on-account limit is in {limit.currency}, the order in {currency}: "
            "customer account payments cannot be checked against it",
        )
    if on_account.is_positive() and limit is not None and on_account > limit:
        raise InvalidInput(f"customer account payments of {on_account} exceed the limit {limit}")
    others = total([x.amount for x in lines if x.method is not PaymentMethod.GIFT_CARD], currency)
    for line in lines:
        if line.method is PaymentMethod.GIFT_CARD and line.amount > (order_total - others).max(
            Money.zero(currency)
        ):
            raise InvalidInput("a gift card never pays more than the order balance")


def _deposit_lines(  # noqa: PLR0917 - what placement checked so far, and who placed it
    ports: Ports,
    channel: Channel,
    customer: Customer,
    order_total: Money,
    lines: tuple[PaymentLine, ...],
    created_by: Actor | None,
) -> tuple[PaymentLine, ...]:
    """D1: the channel's payments taken as the order's deposit, checked."""
    if channel is not Channel.POS or customer.is_guest:
        raise InvalidInput("only a POS order of a named customer takes a deposit (D1)")
    if not ports.settings.ocop:
        raise FeatureDisabled(
            "deposits are taken only while omni-channel order payments is on",
            feature="omni_channel_order_payments",
        )
    if not lines:
        raise InvalidInput("a deposit is paid: give its payments")
    for line in lines:
        if line.method not in DEPOSIT_METHODS:
            raise InvalidInput(f"a deposit is paid by card, cash or check, not {line.method}")
    amount = total([line.amount for line in lines], order_total.currency)
    if amount > order_total:
        raise InvalidInput(f"a deposit of {amount} exceeds the order total {order_total}")
    default = default_deposit(order_total, ports.settings.deposits)
    if default is not None and amount != default:
        actor_id = created_by.actor_id if created_by is not None else "?"
        if created_by is None or not created_by.may(DEPOSIT_OVERRIDE):
            raise PermissionDenied(
                f"a deposit of {amount}, not the default {default}, needs the "
                f"{DEPOSIT_OVERRIDE} permission",
                actor_id=actor_id,
                action="deposit override",
            )
    return tuple(attrs.evolve(line, deposit=True) for line in lines)


def _asked(currency: str, lines: tuple[PaymentLine, ...]) -> Money:
    """What the deposit lines ask, as the channel gave them (D1)."""
    return total([line.amount for line in lines], currency)


#: What a placement sent again, and a recovery finishing an interrupted one, claim the
#: order for (O2): one at a time.
PLACING = "complete:"


def _interrupted(ports: Ports, order: Order) -> Order:
    """The stored order this placement's first attempt left when it failed after storing
    it, before any processor call (a storage error between its two commits): the same
    placement again takes it up where it stopped. Any other order under the id, or one
    that has moved on, is a :class:`DuplicateOrder`."""
    with ports.store.unit_of_work() as uow:
        stored = uow.orders.get(order.order_id)
        calls = uow.operations.for_order(order.order_id)
    # A call center order waits for completion when its placement succeeds: a repeat of
    # it is a second placement, not the first one taken up.
    waits = stored.payments_type is PaymentsType.CALL_CENTER
    waits = waits and completion_enabled(stored, ports.settings)
    same = (stored.channel, stored.payments_type, stored.customer, stored.total, stored.lines)
    if (
        calls
        or waits
        or not stored.needs_completion
        or same != (order.channel, order.payments_type, order.customer, order.total, order.lines)
    ):
        raise DuplicateOrder(order.order_id)
    return stored


def place_order(
    ports: Ports,
    order_id: str,
    *,
    channel: Channel,
    customer: Customer,
    total: Money,
    payments: Iterable[ChannelPayment] = (),
    created_by: Actor | None = None,
    deposit: bool = False,
) -> Order:
    """Record an order placed in a channel, with the payments it took (``deposit``: taken
    as the order's deposit, D1)."""
    if not isinstance(total, Money) or total.is_negative():
        raise InvalidInput("an order total is non-negative Money")
    channel = Channel(channel)
    lines, cvvs = _lines(ports, channel, customer, total, payments)
    if deposit:
        lines = _deposit_lines(ports, channel, customer, total, lines, created_by)
    by_call_center_user = created_by is None or created_by.call_center_user
    kind = PaymentsType.at_creation(
        channel, ocop_on=ports.settings.ocop, by_call_center_user=by_call_center_user
    )
    waits = (
        kind is PaymentsType.CALL_CENTER and ports.settings.completion.completion_for_call_center
    )
    if cvvs and waits:
        # T1: the CVV goes to the processor, and is kept nowhere; this order makes no call
        # before its completion, whose draft takes the saved card with its CVV.
        raise InvalidInput(
            "a call center order waits for completion: add the saved card to its completion "
            "draft, with its CVV (add_saved_card)"
        )
    order = Order.open(
        order_id,
        channel=channel,
        payments_type=kind,
        customer=customer,
        total=total,
        placed_at=ports.clock.now(),
    )
    for line in lines:
        order = order.with_line(line)
    if deposit:  # D1: what the order asks, whatever its cards are approved for (N4)
        order = attrs.evolve(order, deposit_asked=_asked(total.currency, lines))
    try:
        with ports.store.unit_of_work() as uow:
            uow.orders.add(order.pending_completion())
            placed = uow.commit().orders[order_id]
    except DuplicateOrder:
        # Sent again: the order keeps its first placed_at, so the placement claims it
        # while it runs, as recovery claims it to finish an interrupted one (O2).
        _interrupted(ports, order)  # DuplicateOrder at once when it cannot be taken up
        holder = f"placement:{uuid4().hex}"
        with claimed(ports, [order_id], holder, ports.clock.now(), PLACING) as mine:
            if not mine:
                raise ConcurrentUpdate(order_id) from None  # recovery is finishing it
            return _go_on(ports, _interrupted(ports, order), cvvs)
    return _go_on(ports, placed, cvvs, fresh=True)


def _go_on(ports: Ports, placed: Order, cvvs: Mapping[str, str], *, fresh: bool = False) -> Order:
    """The placement of the stored ``placed``, from its first processor call on.
    ``fresh``: ``placed`` as this call stored it new: no call of it can be in doubt (O3)."""
    kind = placed.payments_type
    if completion_enabled(placed, ports.settings) and kind is PaymentsType.CALL_CENTER:
        # S3: call center orders wait for completion. A NONE order (P2) cannot be completed,
        # so, like POS and e-commerce orders, it is validated with the payments it came with;
        # so is a call center order while order completion is off for call centers.
        return placed
    # D1: a deposit is taken once the order is validated, the validation stored with its
    # captures' intents (one batch); a deposit whose authorization is in doubt is not captured
    # yet: the recover() run that finishes this placement once the call is settled takes it
    # (O2), or the submit of an order left to its agent.
    return complete(ports, placed, cvvs, checked=fresh).order
