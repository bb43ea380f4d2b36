"""Recovery of processor calls in doubt (rules O2, V5).

Every operation whose intent was committed without a definitive outcome (a
timeout, a crash) is looked up at the processor by its key; a definitive
answer is applied exactly as if the call had returned, journals included.
What the processor cannot tell yet stays in doubt for a later run. A renewal of
the authorization job (A2) that the resolved calls interrupted is finished:
re-authorized or held. Vouchers committed but not yet posted to the journal are posted.
"""

from __future__ import annotations

import attrs

from ocop.domain.errors import OcopError
from ocop.domain.operations import Outcome
from ocop.services.engine import post_pending, settle
from ocop.services.logs import logger
from ocop.services.renewals import finish_renewals
from ocop.services.wiring import Ports

log = logger("ocop.recovery")


@attrs.frozen(kw_only=True)
class RecoveryReport:
    """Keys resolved, keys still in doubt, and vouchers posted from the outbox.

    ``unapplied``: keys the processor answered but whose outcome the order refused
    (an error ocop raised); they stay in doubt, logged, for a person to look at,
    and do not stop the recovery of the others. ``renewals``: orders whose interrupted
    renewal (A2) this recovery finished, re-authorized or held.
    """

    resolved: tuple[str, ...] = ()
    still_in_doubt: tuple[str, ...] = ()
    unapplied: tuple[str, ...] = ()
    vouchers_posted: int = 0
    renewals: tuple[str, ...] = ()


def recover(ports: Ports, holder: str = "recover") -> RecoveryReport:
    """Resolve every operation in doubt, finish the renewals they interrupted, then post
    pending vouchers. ``holder``: who claims an order whose renewal it finishes."""
    with ports.store.unit_of_work() as uow:
        doubtful = uow.operations.in_doubt()
    resolved: list[str] = []
    orders: list[str] = []
    still: list[str] = []
    unapplied: list[str] = []
    for op in doubtful:
        result = ports.processor.lookup(op.key)
        if result.outcome is Outcome.UNKNOWN:
            log.warning("still in doubt %s", op.key)
            still.append(op.key)
            continue
        try:
            settle(ports, op.order_id, [(op, result)])
        except OcopError:
            log.exception("could not apply the %s outcome of %s", result.outcome.value, op.key)
            unapplied.append(op.key)
            continue
        log.info("resolved %s as %s", op.key, result.outcome.value)
        resolved.append(op.key)
        orders.append(op.order_id)
    renewals = finish_renewals(ports, orders, holder) if orders else ()
    return RecoveryReport(
        resolved=tuple(resolved),
        still_in_doubt=tuple(still),
        unapplied=tuple(unapplied),
        vouchers_posted=post_pending(ports),
        renewals=renewals,
    )
