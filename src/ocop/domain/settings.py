"""Settings: features, policies and journal names, validated on construction.

Rule F1: omni-channel order payments (OCOP) can be *turned on* only while the
five other features are on. Once it is on, three of them (unified journal
defaults, duplicate payment protection, refunds over multiple captures) may be
turned off later, discouraged: :meth:`Settings.warnings` names each, and each
then behaves as its feature-off rule (J2, I4, R2); the other two cannot be off
while OCOP is on. A settings value has no history, so only a ``with_features``
call that turns OCOP from off to on checks the five. F2: with OCOP on, order
completion is on for every call center channel. F3: every payment method must
map to a POS operation; an unmapped one is a warning, and with OCOP on its lines
cannot be edited in completion.
Invalid settings raise :class:`InvalidSettings` and nothing is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Self

import attrs

from ocop.domain.cardnumbers import contains_card_number
from ocop.domain.errors import InvalidSettings
from ocop.domain.money import Money
from ocop.domain.tender import PaymentMethod

_PREREQUISITES = (
    "omni_channel_payments",
    "unified_journal_defaults",
    "duplicate_payment_protection",
    "refunds_over_multiple_captures",
    "manual_void_of_expired_authorizations",
)
#: Prerequisites that may be turned off once OCOP is on (discouraged: all testing of the
#: feature was done with them on).
DISCOURAGED_OFF = (
    "unified_journal_defaults",
    "duplicate_payment_protection",
    "refunds_over_multiple_captures",
)
#: Prerequisites that stay on while OCOP is on.
REQUIRED_ON = tuple(name for name in _PREREQUISITES if name not in DISCOURAGED_OFF)


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidSettings(f"{attribute.name} must be True or False")


@attrs.frozen(kw_only=True)
class Features:
    """The feature switches. Defaults: every feature on, OCOP on."""

    omni_channel_payments: bool = attrs.field(default=True, validator=_flag)
    unified_journal_defaults: bool = attrs.field(default=True, validator=_flag)
    duplicate_payment_protection: bool = attrs.field(default=True, validator=_flag)
    refunds_over_multiple_captures: bool = attrs.field(default=True, validator=_flag)
    manual_void_of_expired_authorizations: bool = attrs.field(default=True, validator=_flag)
    omni_channel_order_payments: bool = attrs.field(default=True, validator=_flag)

    def __attrs_post_init__(self) -> None:
        if self.omni_channel_order_payments:
            missing = [name for name in REQUIRED_ON if not getattr(self, name)]
            if missing:
                raise InvalidSettings(
                    "F1: while omni_channel_order_payments is on, these features stay on: "
                    + ", ".join(missing)
                )

    @property
    def discouraged_off(self) -> tuple[str, ...]:
        """F1: the prerequisites turned off after OCOP was turned on."""
        if not self.omni_channel_order_payments:
            return ()
        return tuple(name for name in DISCOURAGED_OFF if not getattr(self, name))


def _percent(instance: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 <= value <= 100:
        raise InvalidSettings(f"{attribute.name} must be a Decimal percentage from 0 to 100")


#: The most days a setting counts (a century): a date that far ahead still fits a datetime,
#: so no hold, expiry or claim computed from a setting can overflow.
MAX_DAYS = 36500


def _whole(value: object, least: int, most: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and least <= value <= most


def _days(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not _whole(value, 0, MAX_DAYS):
        raise InvalidSettings(
            f"{attribute.name} must be a whole number of days, 0 or more (at most {MAX_DAYS})"
        )


def _at_least_a_day(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    # An authorization expired at once would be renewed by the job that made it (A1).
    if not _whole(value, 1, MAX_DAYS):
        raise InvalidSettings(
            f"{attribute.name} must be a whole number of days, 1 or more (at most {MAX_DAYS})"
        )


def _name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidSettings(f"{attribute.name} must be a non-empty name")
    if contains_card_number(value):  # journal names go into every voucher (T2)
        raise InvalidSettings(f"{attribute.name} must hold no card number")


def _threshold(instance: object, attribute: attrs.Attribute[Money | None], value: object) -> None:
    if value is not None and (not isinstance(value, Money) or value.is_negative()):
        raise InvalidSettings(f"{attribute.name} must be non-negative Money or None")


@attrs.frozen(kw_only=True)
class CompletionPolicy:
    """Thresholds for submit (rules S1, S2)."""

    overpaid_threshold_percent: Decimal = attrs.field(default=Decimal(0), validator=_percent)
    underpaid_threshold_percent: Decimal = attrs.field(default=Decimal(0), validator=_percent)
    allow_out_of_balance: bool = attrs.field(default=False, validator=_flag)
    check_hold_threshold: Money | None = attrs.field(default=None, validator=_threshold)
    check_hold_days: int = attrs.field(default=0, validator=_days)
    completion_for_call_center: bool = attrs.field(default=True, validator=_flag)


def _count(most: int) -> Callable[[object, attrs.Attribute[int], object], None]:
    """attrs validator: a whole number from 1 to ``most``."""

    def validate(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
        if not _whole(value, 1, most):
            raise InvalidSettings(f"{attribute.name} must be a whole number, 1 or more "
                                  f"(at most {most})")  # fmt: skip

    return validate


#: The most orders the renewal job claims at a time: more than any batch needs, and a count
#: every store can take.
MAX_BATCH_SIZE = 1_000_000


@attrs.frozen(kw_only=True)
class AuthorizationPolicy:
    """Authorization lifetimes (rule I3) and the renewal job (A1, A2).

    ``expiry_days`` before ``stale_days``. The job renews an open authorization once it
    expires within ``renew_within_days`` (:attr:`renew_window`); ``retry_declined``: it
    also tries again, once a run, card lines declined before (default off); it works
    through the orders ``renew_batch_size`` at a time, each claimed for
    ``renew_claim_minutes`` so that other workers pass it by (a crashed worker's claims
    end by themselves).
    """

    expiry_days: int = attrs.field(default=14, validator=_at_least_a_day)
    stale_days: int = attrs.field(default=30, validator=_days)
    renew_within_days: int = attrs.field(default=2, validator=_days)
    retry_declined: bool = attrs.field(default=False, validator=_flag)
    renew_batch_size: int = attrs.field(default=100, validator=_count(MAX_BATCH_SIZE))
    renew_claim_minutes: int = attrs.field(default=10, validator=_count(MAX_DAYS * 24 * 60))

    def __attrs_post_init__(self) -> None:
        if self.stale_days < self.expiry_days:
            raise InvalidSettings("stale_days must be at least expiry_days")

    @property
    def renew_window(self) -> int:
        """The days before expiry from which the job renews: ``renew_within_days``, but at
        most ``expiry_days - 1``, so a renewed authorization is not due again at once."""
        return min(self.renew_within_days, max(self.expiry_days - 1, 0))


_CHANNEL_NAMES = ("call_center", "pos", "ecommerce")


@attrs.frozen(kw_only=True)
class JournalNames:
    """Journal names (rule J2): unified ones, and each channel's own."""

    unified_payment: str = attrs.field(default="OCOP-PAY", validator=_name)
    unified_refund: str = attrs.field(default="OCOP-REF", validator=_name)
    channel_payment: tuple[tuple[str, str], ...] = (
        ("call_center", "CC-PAY"),
        ("pos", "POS-PAY"),
        ("ecommerce", "ECOM-PAY"),
    )
    channel_refund: tuple[tuple[str, str], ...] = (
        ("call_center", "CC-REF"),
        ("pos", "POS-REF"),
        ("ecommerce", "ECOM-REF"),
    )

    def __attrs_post_init__(self) -> None:
        for mapping in (self.channel_payment, self.channel_refund):
            if not isinstance(mapping, tuple) or not all(
                isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)
                for pair in mapping
            ):
                raise InvalidSettings(
                    "channel journal names are a tuple of (channel, journal name) pairs"
                )
            names = dict(mapping)
            if len(names) != len(mapping):
                raise InvalidSettings("channel journal names name each channel once")
            if set(names) != set(_CHANNEL_NAMES) or not all(
                isinstance(v, str) and v.strip() for v in names.values()
            ):
                raise InvalidSettings(
                    "channel journal names must name each of call_center, pos, ecommerce"
                )
            if any(contains_card_number(v) for v in names.values()):
                raise InvalidSettings("channel journal names must hold no card number")


@attrs.frozen(kw_only=True)
class RefundPolicy:
    """Refund rules R3, R4."""

    allow_unlinked_refunds: bool = attrs.field(default=True, validator=_flag)
    fallback_method: PaymentMethod = PaymentMethod.CUSTOMER_ACCOUNT

    def __attrs_post_init__(self) -> None:
        # A member, not a string equal to one (the enumerations are their members).
        if not isinstance(self.fallback_method, PaymentMethod) or self.fallback_method not in (
            PaymentMethod.CHECK,
            PaymentMethod.CUSTOMER_ACCOUNT,
        ):
            raise InvalidSettings("the fallback refund method is check or customer_account")


#: Reason codes of manual holds unless the settings name others (rule S4).
DEFAULT_HOLD_REASONS = ("FRAUD", "CUSTOMER_REQUEST", "OTHER")
#: The longest reason code, in characters.
MAX_REASON_CODE_LENGTH = 64


def _reason_codes(
    instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: object
) -> None:
    """S4: a non-empty tuple of distinct codes, each 1 to 64 printable characters without
    spaces, none a card number."""
    if (
        not isinstance(value, tuple)
        or not value
        or len(set(value)) != len(value)
        or not all(
            isinstance(code, str)
            and 0 < len(code) <= MAX_REASON_CODE_LENGTH
            and code.isprintable()
            and not any(c.isspace() for c in code)
            and not contains_card_number(code)
            for code in value
        )
    ):
        raise InvalidSettings(
            f"{attribute.name} must be a non-empty tuple of distinct codes of 1 to 64 "
            "printable characters without spaces"
        )


@attrs.frozen(kw_only=True)
class DepositPolicy:
    """Deposits of POS customer orders (rules D1, D2).

    ``default_percent``: the deposit an order takes, as a percent of its total (rounded
    half up to minor units); another amount needs the ``deposit_override`` permission.
    0 (the default) configures no default deposit: the payments given are the deposit.
    ``cancellation_charge_percent``: the percent of the total kept from the deposit when
    the order is cancelled before any invoice.
    """

    default_percent: Decimal = attrs.field(default=Decimal(0), validator=_percent)
    cancellation_charge_percent: Decimal = attrs.field(default=Decimal(0), validator=_percent)


def _part(kind: type[object]) -> Callable[[object, attrs.Attribute[Any], object], None]:
    """attrs validator: the field holds a ``kind`` (a part of the settings)."""

    def validate(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise InvalidSettings(f"{attribute.name} must be a {kind.__name__}")

    return validate


def _operations(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """F3: a tuple of (payment method, POS operation number) pairs, each method once, each
    number 1 or more."""
    if not isinstance(value, tuple) or not all(
        isinstance(pair, tuple)
        and len(pair) == 2
        and isinstance(pair[0], PaymentMethod)
        and isinstance(pair[1], int)
        and not isinstance(pair[1], bool)
        and pair[1] > 0
        for pair in value
    ):
        raise InvalidSettings(
            f"{attribute.name} must be a tuple of (PaymentMethod, POS operation number) pairs, "
            "each number 1 or more"
        )
    if len({method for method, _ in value}) != len(value):
        raise InvalidSettings(f"{attribute.name} must map each payment method once")


#: POS operations for the methods ocop knows (rule F3).
DEFAULT_METHOD_OPERATIONS: tuple[tuple[PaymentMethod, int], ...] = tuple(
    (method, method.pos_operation) for method in PaymentMethod
)


@attrs.frozen(kw_only=True)
class Settings:
    """Everything configurable. :meth:`default` has every feature on and OCOP on."""

    features: Features = attrs.field(default=Features(), validator=_part(Features))
    completion: CompletionPolicy = attrs.field(
        default=CompletionPolicy(), validator=_part(CompletionPolicy)
    )
    authorization: AuthorizationPolicy = attrs.field(
        default=AuthorizationPolicy(), validator=_part(AuthorizationPolicy)
    )
    journals: JournalNames = attrs.field(default=JournalNames(), validator=_part(JournalNames))
    refunds: RefundPolicy = attrs.field(default=RefundPolicy(), validator=_part(RefundPolicy))
    deposits: DepositPolicy = attrs.field(default=DepositPolicy(), validator=_part(DepositPolicy))
    allow_saving_payment_information: bool = attrs.field(default=True, validator=_flag)
    method_operations: tuple[tuple[PaymentMethod, int], ...] = attrs.field(
        default=DEFAULT_METHOD_OPERATIONS, validator=_operations
    )
    #: The reason codes a manual hold may give (S4).
    hold_reasons: tuple[str, ...] = attrs.field(default=DEFAULT_HOLD_REASONS,
                                                validator=_reason_codes)  # fmt: skip

    def __attrs_post_init__(self) -> None:
        if (
            self.features.omni_channel_order_payments
            and not self.completion.completion_for_call_center
        ):
            raise InvalidSettings("F2: with OCOP on, order completion is on for call centers")

    @classmethod
    def default(cls) -> Self:
        return cls()

    def with_features(self, **switches: bool) -> Settings:
        """These settings with some features switched; validated as a whole (F1).

        Turning OCOP from off to on needs the five other features on (after this call).
        """
        unknown = set(switches) - set(attrs.fields_dict(Features))
        if unknown:
            raise InvalidSettings(f"unknown feature(s): {', '.join(sorted(unknown))}")
        not_flags = sorted(name for name, on in switches.items() if not isinstance(on, bool))
        if not_flags:
            raise InvalidSettings(f"features are True or False: {', '.join(not_flags)}")
        self._check_turning_on({**attrs.asdict(self.features), **switches})
        return attrs.evolve(self, features=attrs.evolve(self.features, **switches))

    def _check_turning_on(self, wanted: Mapping[str, object]) -> None:
        """F1, whichever method asks: switches that turn OCOP on from off need the five
        prerequisites on."""
        if wanted["omni_channel_order_payments"] and not self.ocop:
            missing = [name for name in _PREREQUISITES if not wanted[name]]
            if missing:
                raise InvalidSettings(
                    "F1: omni_channel_order_payments can be turned on only with these "
                    "features on: " + ", ".join(missing)
                )

    def with_policies(self, **changes: object) -> Settings:
        """These settings with some top-level parts replaced (``completion=...``)."""
        unknown = set(changes) - set(attrs.fields_dict(Settings))
        if unknown:
            raise InvalidSettings(f"unknown setting(s): {', '.join(sorted(unknown))}")
        evolved: Settings = attrs.evolve(self, **changes)  # type: ignore[arg-type]
        if "features" in changes:
            self._check_turning_on(attrs.asdict(evolved.features))
        return evolved

    @property
    def ocop(self) -> bool:
        return self.features.omni_channel_order_payments

    def warnings(self) -> tuple[str, ...]:
        """F1: prerequisites turned off while OCOP is on (discouraged); F3: payment methods
        without a POS operation. The back office logs each when it starts."""
        mapped = {method for method, _ in self.method_operations}
        discouraged = tuple(
            f"F1: {name} is off while omni_channel_order_payments is on; allowed but "
            "discouraged: omni-channel order payments was tested with it on"
            for name in self.features.discouraged_off
        )
        return discouraged + tuple(
            f"F3: payment method {m.value!r} maps to no POS operation"
            + ("; its lines cannot be edited in order completion" if self.ocop else "")
            for m in PaymentMethod
            if m not in mapped
        )

    def editable_method(self, method: PaymentMethod) -> bool:
        """F3: with OCOP on, only mapped methods can be edited in completion."""
        return not self.ocop or method in {m for m, _ in self.method_operations}

    def payment_journal(self, channel: str) -> str:
        """J2: the journal a receipt of ``channel`` posts to."""
        if self.features.unified_journal_defaults:
            return self.journals.unified_payment
        return dict(self.journals.channel_payment)[channel]

    def refund_journal(self, channel: str) -> str:
        if self.features.unified_journal_defaults:
            return self.journals.unified_refund
        return dict(self.journals.channel_refund)[channel]
