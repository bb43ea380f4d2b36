"""The owner's acceptance tests of the design's Public API (contract). Values,
enumerations, errors and settings (F1), as the contract states them."""

from __future__ import annotations

from decimal import Decimal

import pytest

import ocop
import ocop.ports.processor
from ocop import (
    Actor,
    Channel,
    CompletionPolicy,
    Customer,
    Features,
    HoldCode,
    LineStatus,
    Money,
    OcopError,
    OrderStatus,
    PaymentsType,
    Settings,
)

from .support import AGENT, CARD, PLAIN, card_order, usd, world


# -- imports and enumerations ------------------------------------------------------------
def test_every_contract_name_and_error_is_importable_from_ocop() -> None:
    """The import block and the errors the design lists come from ``ocop``, errors under
    ``OcopError``."""
    errors = ("PermissionDenied", "FeatureDisabled", "CurrencyMismatch", "InvalidAmount",
              "CardNumberRefused", "IllegalTransition", "RefundExceedsReceived",
              "OperationInDoubt", "IdempotencyConflict", "InvalidInput", "InvalidSettings",
              "StorageError")  # fmt: skip
    for name in errors:
        error = getattr(ocop, name)
        assert issubclass(error, OcopError), name
    assert issubclass(OcopError, Exception)


def test_enumerations_have_at_least_the_contract_members() -> None:
    """Channel, PaymentsType, OrderStatus, LineStatus and HoldCode hold the listed members."""
    wanted = {
        Channel: "CALL_CENTER POS ECOMMERCE",
        PaymentsType: "CALL_CENTER COMMERCE LEGACY NONE",
        OrderStatus: "PENDING_COMPLETION APPROVED ON_HOLD PARTIALLY_INVOICED INVOICED CANCELLED",
        LineStatus: "NOT_SUBMITTED PENDING_AUTHORIZATION AUTHORIZED DECLINED PAID VOIDED REFUNDED",
        HoldCode: "OUT_OF_BALANCE PAYMENT_DECLINED CHECK CREDIT_LIMIT AUTHORIZATION_EXPIRED MANUAL",
    }
    for enum, names in wanted.items():
        assert set(names.split()) <= set(enum.__members__), enum


# -- values ------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", ["100.00", 100, Decimal("100.00")])
def test_money_of_takes_str_int_or_decimal(amount: object) -> None:
    """``Money.of`` accepts str, int and Decimal, exposing ``.amount`` and ``.currency``."""
    money = Money.of(amount, "USD")  # type: ignore[arg-type]
    assert money.amount == Decimal("100.00")
    assert isinstance(money.amount, Decimal)
    assert money.currency == "USD"


@pytest.mark.parametrize("amount", [100.0, 0.1, True, None, [1]])
def test_money_of_refuses_anything_else_and_floats(amount: object) -> None:
    """A float (or any other type) never becomes money: an ``OcopError``."""
    with pytest.raises(OcopError):
        Money.of(amount, "USD")  # type: ignore[arg-type]


def test_money_zero_of_a_currency() -> None:
    """``Money.zero("JPY")`` is zero yen."""
    zero = Money.zero("JPY")
    assert (zero.amount, zero.currency) == (Decimal(0), "JPY")


def test_customers_and_actors_as_the_contract_builds_them() -> None:
    """Named (with an optional on-account limit) and guest customers; call center users
    with a channel and permissions; other users are no call center users."""
    assert Customer.named("C-1", on_account_limit=None) == Customer.named("C-1")
    Customer.named("C-2", on_account_limit=usd("50.00"))
    assert Customer.guest() != Customer.named("C-1")
    assert AGENT.may("alternate_payment")
    assert AGENT.may("hold_override")
    assert not PLAIN.may("hold_override")
    bo, _, _ = world()
    card_order(bo)
    with pytest.raises(ocop.PermissionDenied):
        bo.begin_completion("SO-1", Actor.user("u2"))


def test_a_card_token_keeps_what_it_is_given() -> None:
    """``CardToken`` fields read back as given."""
    assert (CARD.value, CARD.connector, CARD.service_account, CARD.brand, CARD.last4,
            CARD.expiry, CARD.reusable) == ("tok_1", "sim", "sa-1", "visa", "1111",
                                            "2030-12", True)  # fmt: skip


# -- settings (F1) -----------------------------------------------------------------------
def test_default_settings_have_every_feature_on() -> None:
    """``Settings.default()``: every feature on, OCOP on, no warnings."""
    features = Settings.default().features
    assert isinstance(features, Features)
    assert features == Features(
        omni_channel_payments=True,
        unified_journal_defaults=True,
        duplicate_payment_protection=True,
        refunds_over_multiple_captures=True,
        manual_void_of_expired_authorizations=True,
        omni_channel_order_payments=True,
    )
    assert not [w for w in Settings.default().warnings() if w.startswith("F1")]


@pytest.mark.parametrize(
    "feature",
    ["duplicate_payment_protection", "unified_journal_defaults", "refunds_over_multiple_captures"],
)
def test_a_discouraged_feature_may_be_turned_off_and_is_named(feature: str) -> None:
    """F1: turning one off with OCOP on is allowed, and ``.warnings()`` names it."""
    settings = Settings.default().with_features(**{feature: False})
    assert getattr(settings.features, feature) is False
    assert [w for w in settings.warnings() if feature in w]


@pytest.mark.parametrize(
    "feature", ["omni_channel_payments", "manual_void_of_expired_authorizations"]
)
def test_a_feature_that_cannot_be_disabled_is_refused(feature: str) -> None:
    """F1: ``with_features(omni_channel_payments=False)`` raises InvalidSettings."""
    with pytest.raises(ocop.InvalidSettings):
        Settings.default().with_features(**{feature: False})


def test_ocop_turned_on_only_with_every_prerequisite_on() -> None:
    """F1: turning OCOP from off to on while a prerequisite is off is refused; a value
    constructed with OCOP on and a discouraged feature off is allowed, with its warning."""
    off = Settings.default().with_features(omni_channel_order_payments=False,
                                           duplicate_payment_protection=False)  # fmt: skip
    with pytest.raises(ocop.InvalidSettings):
        off.with_features(omni_channel_order_payments=True)
    assert off.with_features(
        omni_channel_order_payments=True, duplicate_payment_protection=True
    ).features.omni_channel_order_payments
    built = Settings(features=Features(duplicate_payment_protection=False))
    assert [w for w in built.warnings() if "duplicate_payment_protection" in w]


def test_with_policies_sets_a_completion_policy() -> None:
    """``with_policies(completion=CompletionPolicy(check_hold_threshold=...,
    check_hold_days=3))`` sets both."""
    settings = Settings.default().with_policies(
        completion=CompletionPolicy(check_hold_threshold=usd("50.00"), check_hold_days=3)
    )
    assert settings.completion.check_hold_threshold == usd("50.00")
    assert settings.completion.check_hold_days == 3


def test_settings_journals_names() -> None:
    """``settings.journals`` has the unified names and per-channel names."""
    journals = Settings.default().journals
    assert journals.unified_payment
    assert journals.unified_refund
    channels = {channel.value for channel in Channel}
    assert {c for c, _ in journals.channel_payment} >= channels
    assert {c for c, _ in journals.channel_refund} >= channels


def test_a_back_office_logs_discouraged_features_when_it_starts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """F1: the back office logs each discouraged feature that is off when it starts."""
    settings = Settings.default().with_features(duplicate_payment_protection=False)
    with caplog.at_level("WARNING"):
        world(settings)
    assert "duplicate_payment_protection" in caplog.text


def test_a_back_office_given_other_settings_logs_them_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """F1: ``with_settings`` starts a back office too, and logs a discouraged feature."""
    bo, _, _ = world()
    with caplog.at_level("WARNING"):
        bo.with_settings(Settings.default().with_features(refunds_over_multiple_captures=False))
    assert "refunds_over_multiple_captures" in caplog.text
