"""Processor notifications: what a processor reports after the call (rules N1, N2, N4).

A processor that answers a call *pending* (N1) reports its final outcome later in a
notification; some notifications come unasked (N4: a chargeback and its reversal, an
authorization cancelled or expired by the processor). A connector turns what its
processor sends (a webhook) into :class:`Notification` values, and the host hands each
to ``bo.handle_notification(n)``. A notification names the operation it is about by
ocop's operation key (connectors send it to the processor as the request's reference)
and, where the processor gives one, by the processor's reference.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ocop.domain.cardguard import validate_no_card_data
from ocop.domain.edge import (
    MAX_KEY_LENGTH,
    instance_of,
    valid_bool,
    valid_optional_money,
    valid_optional_reference,
    valid_reference,
)
from ocop.domain.enums import Members
from ocop.domain.errors import InvalidArgument, InvalidInput
from ocop.domain.money import Money

__all__ = ["Notification", "NotificationEvent", "NotificationResult"]


class NotificationEvent(Members):
    """What a notification reports."""

    #: The final outcome of an operation answered pending (N1): ``success`` says which.
    OUTCOME = "outcome"
    #: A chargeback against a capture (N4): money taken back by the card holder's bank.
    CHARGEBACK = "chargeback"
    #: A chargeback reversed in the merchant's favour (N4).
    CHARGEBACK_REVERSED = "chargeback_reversed"
    #: The processor cancelled an authorization, or let it expire (N4).
    AUTHORIZATION_ENDED = "authorization_ended"
    #: Anything else a processor reports: kept for review.
    OTHER = "other"


def _moment(instance: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{attribute.name} must be a timezone-aware datetime")


def _key(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    """An operation key (as long as the ids it is made of need): printable text with no
    card number; "" when the processor named none (the notification then matches nothing
    and is kept for review, N2)."""
    argument = f"Notification.{attribute.name}"
    if not isinstance(value, str) or len(value) > MAX_KEY_LENGTH or not value.isprintable():
        raise InvalidArgument(
            f"{argument} must be an operation key: at most {MAX_KEY_LENGTH} printable characters",
            argument=argument,
        )
    validate_no_card_data(instance, attribute, value)


def _reason(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    """The processor's words: a string with no card number (printed masked, E2)."""
    if not isinstance(value, str):
        argument = f"Notification.{attribute.name}"
        raise InvalidArgument(f"{argument} must be a string", argument=argument)
    validate_no_card_data(instance, attribute, value)


@attrs.frozen(kw_only=True)
class Notification:
    """One notification from a processor.

    ``notification_id``: the processor's id of this notification (the same notification
    delivered twice has the same id). ``event``: what it reports. ``key``: the operation
    key of the call it is about (for an unsolicited one, the key of the authorization or
    capture it concerns), as the connector sent it as the request's reference.
    ``reference``: the processor's own reference of that operation, if it gave one.
    ``success``: for :attr:`NotificationEvent.OUTCOME`, whether the operation succeeded.
    ``amount``: the money it is about (a chargeback's, or the amount settled). ``reason``:
    the processor's words. ``at``: when the processor says it happened. ``dispute``: for a
    chargeback and its reversal (N4), the processor's id of the dispute, the same for both
    (empty: a chargeback is its own dispute, and a reversal names the chargeback against
    the capture it names).

    N4: a chargeback's ``key`` is the operation key of the capture it takes money from,
    or of the authorization that capture was made on (then ``reference``, the capture's
    token value, picks one of several captures); an authorization ended by the processor
    names the authorization's key. A capture or refund the processor rejects after
    approving it arrives as an :attr:`NotificationEvent.OUTCOME` with ``success`` false
    for its key, already approved.
    """

    notification_id: str = attrs.field(validator=valid_reference)
    event: NotificationEvent = attrs.field(validator=instance_of(NotificationEvent))
    key: str = attrs.field(validator=_key)
    at: datetime = attrs.field(validator=_moment)
    success: bool = attrs.field(default=True, validator=valid_bool)
    reference: str = attrs.field(default="", validator=valid_optional_reference)
    amount: Money | None = attrs.field(default=None, validator=valid_optional_money)
    reason: str = attrs.field(default="", validator=_reason)
    dispute: str = attrs.field(default="", validator=valid_optional_reference)


@attrs.frozen(kw_only=True)
class NotificationResult:
    """What ``bo.handle_notification(n)`` did (N2): exactly one of ``applied`` (it changed
    the order it names), ``duplicate`` (it had been applied already: nothing changed) and
    ``unmatched`` (it names nothing ocop knows: kept for review, never dropped).

    ``order_id`` and ``key``: what it matched (for a chargeback or its reversal, the
    capture). ``undone``: a failure notification undid a pending capture or refund (N2),
    or one the processor had approved and then rejected (N4): the money was never moved.
    """

    applied: bool = False
    duplicate: bool = False
    unmatched: bool = False
    order_id: str | None = None
    key: str | None = None
    undone: bool = False
