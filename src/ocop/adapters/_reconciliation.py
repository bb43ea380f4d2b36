"""Store, processor records and journal, compared to the cent (invariants V4, V5, V6).

For every order: each capture and each refund the processor's ledger holds under one of
the order's keys is in the store with the same amount, and the store holds no other
(pending ones aside: the processor books them once settled); as many authorizations on
both sides, each with the same amount still open; per kind, the order's payment vouchers
less their reversals add up to what it received, its refund vouchers less theirs to what it
refunded, its chargeback vouchers less theirs to what chargebacks take back (N4), each
voucher balanced.
No key moved money twice, and no ledger entry belongs to an order the store does not
have. Each disagreement is one line of :attr:`Reconciliation.differences`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from ocop._backoffice import BackOffice
from ocop.adapters.simulated import LedgerEntry, SimulatedProcessor
from ocop.domain.journal import Voucher, VoucherKind, net_amounts
from ocop.domain.money import Money
from ocop.domain.order import Order
from ocop.services._backoffice import MAX_PAGE

__all__ = ["Reconciliation", "order_ids", "reconcile"]

_REFUND_KINDS = ("refund", "unlinked_refund")


@attrs.frozen(kw_only=True)
class Reconciliation:
    """What was compared, and every difference found (none: all agree to the cent)."""

    orders: int
    ledger_entries: int
    vouchers: int
    in_doubt: tuple[str, ...]
    differences: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.differences and not self.in_doubt


def order_ids(bo: BackOffice, prefix: str, page: int = 1_000) -> list[str]:
    """The ids of the stored orders that start with ``prefix``, in the order placed."""
    found: list[str] = []
    after: str | None = None
    while True:
        ids = bo.orders(limit=min(page, MAX_PAGE), after=after)
        found.extend(i for i in ids if i.startswith(prefix))
        if len(ids) < page:
            return found
        after = ids[-1]


def reconcile(
    bo: BackOffice,
    ids: Sequence[str],
    simulators: Iterable[SimulatedProcessor],
    prefix: str,
    tick: Callable[[int], None] = lambda _: None,
) -> Reconciliation:
    """Compare the orders ``ids`` with the ledgers of ``simulators`` (those of their keys
    that start with ``prefix``) and with the journal; ``tick(n)`` after n orders."""
    sims = {sim.capabilities.service_account: sim for sim in simulators}
    entries = [e for sim in sims.values() for e in sim.ledger() if e.key.startswith(prefix)]
    by_order: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        by_order[entry.key.split("/", 1)[0]].append(entry)
    differences: list[str] = []
    counted = defaultdict[str, int](int)
    for entry in entries:
        counted[entry.key] += 1
    differences.extend(
        f"{key}: {times} movements at the processor under one key (V6)"
        for key, times in counted.items()
        if times > 1
    )
    known = set(ids)
    differences.extend(
        f"{order_id}: {len(found)} processor records for an order the store does not have"
        for order_id, found in by_order.items()
        if order_id not in known
    )
    vouchers = 0
    for done, order_id in enumerate(ids, start=1):
        order = bo.order(order_id)
        differences.extend(_ledger_differences(order, by_order.get(order_id, []), sims))
        journal = bo.journal(order_id)
        vouchers += len(journal)
        differences.extend(_journal_differences(order, journal))
        tick(done)
    doubtful = set(bo.orders(in_doubt=True))
    return Reconciliation(
        orders=len(ids),
        ledger_entries=len(entries),
        vouchers=vouchers,
        in_doubt=tuple(i for i in ids if i in doubtful),
        differences=tuple(differences),
    )


def _compare(
    order_id: str, what: str, ours: Mapping[str, Money], theirs: Mapping[str, Money]
) -> list[str]:
    return [
        f"{order_id}: {what} {key}: store {ours.get(key, 'none')}, "
        f"processor {theirs.get(key, 'none')}"
        for key in sorted({*ours, *theirs})
        if ours.get(key) != theirs.get(key)
    ]


def _ledger_differences(
    order: Order, entries: Sequence[LedgerEntry], sims: Mapping[str, SimulatedProcessor]
) -> list[str]:
    """V5 for one order: captures and refunds per key, authorizations and what is open."""
    order_id = order.order_id
    theirs = {e.key: e.amount for e in entries if e.kind == "capture"}
    ours = {
        c.capture_id: c.amount
        for line in order.lines
        if line.is_card
        for c in line.captures
        if not c.pending
    }
    found = _compare(order_id, "capture", ours, theirs)
    their_refunds = {e.key: e.amount for e in entries if e.kind in _REFUND_KINDS}
    refunds = [r for line in order.lines for r in line.refunds] + list(order.other_refunds)
    our_refunds = {
        r.refund_id: r.amount
        for r in refunds
        if not r.pending and ("/refund:" in r.refund_id or "/unlinked_refund:" in r.refund_id)
    }
    found.extend(_compare(order_id, "refund", our_refunds, their_refunds))
    auths = [a for line in order.lines for a in line.authorizations]
    authorized = sum(1 for e in entries if e.kind == "authorize")
    if authorized != len(auths):
        found.append(
            f"{order_id}: {len(auths)} authorizations in the store, {authorized} at the processor"
        )
    for auth in auths:
        sim = sims.get(auth.token.service_account)
        open_there = None if sim is None else sim.authorization_open(auth.token.value)
        if open_there != auth.open_amount:
            found.append(
                f"{order_id}: authorization {auth.auth_id} open: store {auth.open_amount}, "
                f"processor {open_there if open_there is not None else 'unknown'}"
            )
    return found


def _journal_differences(order: Order, vouchers: Sequence[Voucher]) -> list[str]:
    """V4 for one order, per kind: payment vouchers less their reversals against receipts,
    refund vouchers less theirs against refunds, chargeback vouchers less theirs against
    what chargebacks still take back (N4); each voucher balanced."""
    zero = Money.zero(order.currency)
    net = net_amounts(vouchers, order.currency)
    found = []
    for what, ours, kind in (
        ("received", order.received, VoucherKind.PAYMENT),
        ("refunded", order.refunded, VoucherKind.REFUND),
        ("charged back", order.charged_back, VoucherKind.CHARGEBACK),
    ):
        if net[kind] != ours:
            found.append(f"{order.order_id}: {what} {ours}, {kind.value} vouchers {net[kind]}")
    for voucher in vouchers:
        debits = sum((line.debit for line in voucher.lines), zero)
        credits = sum((line.credit for line in voucher.lines), zero)
        if debits != credits or debits != voucher.amount:
            found.append(f"{order.order_id}: voucher {voucher.voucher_id} does not balance")
    return found
