"""Order completion: begin a draft, submit it (rules C1-C6, S1-S3, P1, P2).

Submit runs the completion plan (:class:`ocop.domain.completion.Complete`) with the
engine: what the draft asks for is stored with the first processor call's intent,
each line is brought there one step at a time, then the order is validated and
its holds decided. Submitting an unchanged draft calls no processor.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ocop.domain.completion import Complete
from ocop.domain.deposits import CompleteAndTake, default_deposit, has_deposit
from ocop.domain.draft import CompletionDraft
from ocop.domain.errors import ConcurrentUpdate, DraftAlreadySubmitted, InvalidDraftEdit
from ocop.domain.holds import never_validated
from ocop.domain.invoicing import invoiced_in_full
from ocop.domain.money import Money, total
from ocop.domain.order import SYSTEM, Hold, Order
from ocop.domain.parties import DEPOSIT_OVERRIDE, Actor
from ocop.domain.plan import adjustable, require_authorizable
from ocop.domain.settings import Settings
from ocop.domain.tender import LineStatus, PaymentLine
from ocop.ports import Ports
from ocop.services._engine import Secrets, load, pursue, require_no_doubt
from ocop.services._gates import (
    require_call_center_user,
    require_completion,
    require_completion_enabled,
    require_permission,
    require_same_account,
)


@attrs.frozen(kw_only=True)
class SubmitResult:
    """What submit came to: the order, whether it is approved, its holds."""

    order: Order
    processor_calls: int = 0
    in_doubt: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        return self.order.approved

    @property
    def holds(self) -> tuple[Hold, ...]:
        return self.order.holds


def begin_completion(ports: Ports, order_id: str, actor: Actor) -> CompletionDraft:
    """A draft of the order's payment lines, for the actor to edit (P1, P2)."""
    require_call_center_user(actor, "order completion")
    order = load(ports, order_id)
    require_completion(order, ports.settings)
    require_completion_enabled(order, ports.settings)
    customer_id = order.customer.customer_id
    instruments = ports.processor.instruments(customer_id) if customer_id else ()
    return CompletionDraft.begin(order, actor, ports.settings, instruments)


def _targets(current: Order, draft: CompletionDraft) -> Order:
    """The stored order with the draft's lines, removals marked, waiting for completion."""
    order = current
    for line_id in sorted(draft.removed):
        order = order.with_line(attrs.evolve(order.line(line_id), pending_removal=True))
    for line in draft.lines:
        order = order.with_line(line)
    return order.pending_completion() if draft.changed else order


def submit(ports: Ports, draft: CompletionDraft) -> SubmitResult:
    """Run the draft's processor calls, then validate and place holds (S1-S3)."""
    require_call_center_user(draft.actor, "order completion")
    _require_deposit_override(draft, ports.settings)
    draft.require_editable_under(ports.settings)
    capabilities = ports.processor.capabilities
    stored = {line.line_id: line for line in draft.order.lines}
    invoiced = bool(draft.order.invoices)
    now = ports.clock.now()
    for line in draft.lines:
        before = stored.get(line.line_id)
        # New lines, and replaced cards (C4: the line may still be AUTHORIZED), before any call.
        replaced = before is None or line.card != before.card
        if line.card is not None and (line.status is LineStatus.NOT_SUBMITTED or replaced):
            require_same_account(line.card, capabilities)
        if line != before:
            # I1 first: on an order invoiced in full nothing could capture more, whatever
            # the card (a single-use card's own hint, to add a line, would be refused next).
            _require_capturable(draft.order, line)
            # C3, C5: a used single-use card token is never authorized again.
            # I3: an authorization past its expiry age is renewed, not adjusted.
            adjusts = adjustable(line, adjustments=capabilities.adjustments, now=now,
                                 settings=ports.settings)  # fmt: skip
            require_authorizable(line, adjustments=adjusts, invoiced=invoiced,
                                 expired=adjusts is not capabilities.adjustments)  # fmt: skip
    with ports.store.unit_of_work() as uow:
        current = uow.orders.get(draft.order_id).as_of(ports.clock.now())
        require_completion(current, ports.settings)
        require_completion_enabled(current, ports.settings)
        # O3 first: a submit whose call is in doubt left the order changed, not someone else.
        require_no_doubt(uow, draft.order_id)
        resumed = current.version != draft.order.version and _resumable(current, draft)
        if current.version != draft.order.version and not resumed:
            if _submitted(current, draft):
                raise DraftAlreadySubmitted(draft.order_id)
            raise ConcurrentUpdate(draft.order_id)
    if resumed:
        # S3, O2: this draft's submit, stopped by a doubt recover() has settled, goes on
        # from the stored targets, with the CVVs only this draft holds (T1).
        return complete(ports, current, _cvvs(draft), by=draft.actor.actor_id, checked=True)
    wanted = _targets(current, draft) if draft.changed else current
    return complete(ports, wanted, _cvvs(draft), changed=draft.changed,
                    by=draft.actor.actor_id, checked=True)  # fmt: skip


def _require_capturable(order: Order, line: PaymentLine) -> None:
    """I1: once the order's total is invoiced no invoice can capture more, so a draft line
    that would hold more on its card than it took is refused before any call."""
    more = line.is_card and line.active and not line.pending_removal
    held = line.captured + line.authorized
    if more and line.amount > held and invoiced_in_full(order):
        raise InvalidDraftEdit(
            f"order {order.order_id} is invoiced in full: no invoice could capture more on "
            f"this card, so line {line.line_id} may ask at most the {held} it captured and "
            "holds; to take more, raise the order's total first",
            rule="I1",
            line_id=line.line_id,
        )


def _deposit(order: Order, lines: tuple[PaymentLine, ...]) -> Money:
    return total((line.amount for line in lines if line.deposit and line.active), order.currency)


def _require_deposit_override(draft: CompletionDraft, settings: Settings) -> None:
    """D1: a deposit not yet taken (the placement was interrupted before it) is taken by this
    submit; a draft that changes it to another amount than the one its placement asked
    needs ``deposit_override``, as the placement did, where a default deposit is set."""
    order = draft.order
    if not has_deposit(order) or not never_validated(order):
        return
    if default_deposit(order.total, settings.deposits) is None:
        return
    before, after = _deposit(order, order.lines), _deposit(order, draft.lines)
    asked = order.deposit_asked if order.deposit_asked is not None else before
    if after not in (before, asked):
        require_permission(draft.actor, DEPOSIT_OVERRIDE, f"a deposit of {after}, not {asked},")


def _submitted(current: Order, draft: CompletionDraft) -> bool:
    """Whether the stored order is this draft submitted: completed, every draft line stored
    as the draft made it (method, amount, card, check number, saved instrument), every line
    the draft removed no longer active, or still pending its removal (its void declined)."""
    if current.needs_completion:
        return False
    stored = {line.line_id: line for line in current.lines}
    for line in draft.lines:
        now = stored.get(line.line_id)
        if now is None or not _stored_as_drafted(now, line):
            return False
    return not any(
        stored[x].active and not stored[x].pending_removal for x in draft.removed if x in stored
    )


def _resumable(current: Order, draft: CompletionDraft) -> bool:
    """Whether the stored order is still waiting for the completion this draft asks for: at
    the draft's total, every draft line stored as the draft made it, every line it removed
    no longer active or still pending its removal, and no line the draft does not know (a
    submit stopped by a doubt that ``recover()`` settled left it so; another agent's change
    since makes the draft outdated)."""
    if not current.needs_completion or current.total != draft.order.total:
        return False
    known = {line.line_id for line in draft.lines} | draft.removed
    if any(
        line.line_id not in known and line.status is not LineStatus.VOIDED for line in current.lines
    ):
        return False
    stored = {line.line_id: line for line in current.lines}
    for line in draft.lines:
        now = stored.get(line.line_id)
        if now is None or not _stored_as_drafted(now, line):
            return False
    return not any(
        stored[x].active and not stored[x].pending_removal for x in draft.removed if x in stored
    )


def _stored_as_drafted(stored: PaymentLine, drafted: PaymentLine) -> bool:
    """Whether ``stored`` is the line the draft's ``drafted`` became at submit. A saved card
    (tokenized at submit) is known by its instrument: the stored line pays with the token
    the tokenization gave."""
    same_card = drafted.needs_tokenize or stored.card == drafted.card
    return same_card and (
        (stored.method, stored.amount, stored.check_number, stored.instrument_id)
        == (drafted.method, drafted.amount, drafted.check_number, drafted.instrument_id)
    )


def _cvvs(draft: CompletionDraft) -> Mapping[str, str]:
    found = {line.line_id: draft.cvv_for(line.line_id) for line in draft.lines}
    return {line_id: cvv for line_id, cvv in found.items() if cvv is not None}


def complete(
    ports: Ports,
    order: Order,
    cvvs: Mapping[str, str],
    *,
    changed: bool = False,
    by: str = SYSTEM,
    declined: bool = False,
    checked: bool = False,
) -> SubmitResult:
    """Bring the lines to their targets, then validate (shared by submit and placement).

    ``changed``: ``order`` carries the draft's targets, not yet stored; they are stored
    with the first processor call's intent, or with the validation. ``by``: who the holds
    validation places or releases are recorded as placed or released by (S4).
    ``declined``: a call of this submit was declined before this run (S2: the order is
    held). An order placed to take a deposit and never validated since has its card
    deposits captured once validated (D1), as its placement would have. ``checked``:
    ``order``'s version was read with none of its calls in doubt (O3, :func:`pursue`).
    """
    plain = Complete.of(order, cvvs, by=by, declined=declined)
    goal: Complete | CompleteAndTake = plain
    if has_deposit(order) and never_validated(order):
        # D1: the placement's own validation (or the submit or recovery that finishes it)
        # takes the deposit, stored with its captures' intents (one batch).
        goal = CompleteAndTake(complete=plain)
    done, goal = pursue(ports, order, goal, Secrets(cvvs=cvvs), changed=changed, checked=checked)
    return SubmitResult(order=done, processor_calls=goal.calls, in_doubt=goal.in_doubt)
