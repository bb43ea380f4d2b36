"""Settings: validated on construction, never half-applied (F1-F3, J2, policies)."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    AuthorizationPolicy,
    CompletionPolicy,
    Features,
    InvalidSettings,
    JournalNames,
    PaymentMethod,
    RefundPolicy,
    Settings,
)
from ocop.domain.settings import DEFAULT_METHOD_OPERATIONS

PREREQUISITES = (
    "omni_channel_payments",
    "unified_journal_defaults",
    "duplicate_payment_protection",
    "refunds_over_multiple_captures",
    "manual_void_of_expired_authorizations",
)
CHANNELS = ("call_center", "pos", "ecommerce")
switches = st.fixed_dictionaries({name: st.booleans() for name in PREREQUISITES})


def test_defaults_have_every_feature_on_and_no_warning() -> None:
    """Settings.default() has all six features on, OCOP on, and maps every method (F3)."""
    settings = Settings.default()
    assert all(attrs.astuple(settings.features))
    assert settings.ocop
    assert settings.warnings() == ()
    assert dict(settings.method_operations)[PaymentMethod.GIFT_CARD] == 214


DISCOURAGED = ("unified_journal_defaults", "duplicate_payment_protection",
               "refunds_over_multiple_captures")  # fmt: skip
REQUIRED = ("omni_channel_payments", "manual_void_of_expired_authorizations")
OFF = Settings.default().with_features(omni_channel_order_payments=False)


@pytest.mark.parametrize("prerequisite", PREREQUISITES)
def test_turning_ocop_on_needs_each_of_the_five_other_features(prerequisite: str) -> None:
    """F1: turning OCOP from off to on while any prerequisite is off is refused, naming it."""
    without = OFF.with_features(**{prerequisite: False})
    with pytest.raises(InvalidSettings, match=prerequisite):
        without.with_features(omni_channel_order_payments=True)
    with pytest.raises(InvalidSettings, match=prerequisite):
        OFF.with_features(omni_channel_order_payments=True, **{prerequisite: False})


@pytest.mark.parametrize("prerequisite", DISCOURAGED)
def test_three_prerequisites_may_be_turned_off_later_with_a_warning(prerequisite: str) -> None:
    """F1: once OCOP is on, unified journals, duplicate protection and refunds over multiple
    captures may be turned off; warnings() names the one that is off, and only it."""
    settings = Settings.default().with_features(**{prerequisite: False})
    assert settings.ocop
    assert not getattr(settings.features, prerequisite)
    (warning,) = settings.warnings()
    assert warning.startswith(f"F1: {prerequisite} is off while omni_channel_order_payments")
    assert "discouraged" in warning
    assert Features(**{prerequisite: False}).discouraged_off == (prerequisite,)


@pytest.mark.parametrize("prerequisite", REQUIRED)
def test_two_prerequisites_cannot_be_off_while_ocop_is_on(prerequisite: str) -> None:
    """F1: omni-channel payments and manual void of expired authorizations stay on with OCOP."""
    with pytest.raises(InvalidSettings, match=prerequisite):
        Settings.default().with_features(**{prerequisite: False})
    with pytest.raises(InvalidSettings, match=prerequisite):
        Features(**{prerequisite: False})


@given(switches)
def test_ocop_on_is_valid_exactly_when_the_required_two_are_on(chosen: dict[str, bool]) -> None:
    """F1: with OCOP staying on, any combination is accepted iff the two required features
    are on, and then warnings() names exactly the discouraged features that are off."""
    if all(chosen[name] for name in REQUIRED):
        settings = Settings.default().with_features(**chosen)
        assert settings.ocop
        named = [w.split()[1] for w in settings.warnings() if w.startswith("F1:")]
        assert named == [name for name in DISCOURAGED if not chosen[name]]
    else:
        with pytest.raises(InvalidSettings):
            Settings.default().with_features(**chosen)


@given(switches)
def test_turning_ocop_on_is_valid_exactly_when_all_five_are_on(chosen: dict[str, bool]) -> None:
    """F1: from OCOP off, turning it on in the same call succeeds iff all five are on."""
    if all(chosen.values()):
        assert OFF.with_features(omni_channel_order_payments=True, **chosen).ocop
    else:
        with pytest.raises(InvalidSettings):
            OFF.with_features(omni_channel_order_payments=True, **chosen)


@given(switches)
def test_features_replaced_whole_turn_ocop_on_only_with_all_five(chosen: dict[str, bool]) -> None:
    """F1 holds whichever method turns OCOP on: ``with_policies(features=...)`` from OCOP
    off is refused exactly when ``with_features`` would be, and never half-applies.
    (``Features`` itself refuses OCOP on without the two required ones.)"""
    chosen = {**chosen, **dict.fromkeys(REQUIRED, True)}
    features = Features(omni_channel_order_payments=True, **chosen)
    if all(chosen.values()):
        assert OFF.with_policies(features=features).features == features
    else:
        missing = next(name for name in PREREQUISITES if not chosen[name])
        with pytest.raises(InvalidSettings, match=missing):
            OFF.with_policies(features=features)
        assert not OFF.ocop


@given(switches)
def test_with_ocop_off_any_combination_is_valid(chosen: dict[str, bool]) -> None:
    """F1 binds only OCOP: with it off every combination of the other five is accepted."""
    settings = Settings.default().with_features(omni_channel_order_payments=False, **chosen)
    assert not settings.ocop
    assert {name: getattr(settings.features, name) for name in PREREQUISITES} == chosen


def test_a_refused_change_leaves_the_settings_unchanged() -> None:
    """An invalid with_features raises and the original settings keep every feature on."""
    settings = Settings.default()
    with pytest.raises(InvalidSettings):
        settings.with_features(omni_channel_payments=False)
    assert settings == Settings.default()


@pytest.mark.parametrize("name", ["ocop", "omni_channel", "Omni_Channel_Payments", "features"])
def test_with_features_refuses_an_unknown_feature(name: str) -> None:
    """A feature name that does not exist raises InvalidSettings naming it."""
    with pytest.raises(InvalidSettings, match=name):
        Settings.default().with_features(**{name: True})


def test_with_policies_refuses_an_unknown_setting() -> None:
    """with_policies of a name that is not a setting raises InvalidSettings."""
    with pytest.raises(InvalidSettings, match="stale_days"):
        Settings.default().with_policies(stale_days=3)


def test_ocop_on_keeps_completion_on_for_call_centers() -> None:
    """F2: with OCOP on, call center completion cannot be turned off; with OCOP off it can."""
    off = CompletionPolicy(completion_for_call_center=False)
    with pytest.raises(InvalidSettings, match="F2"):
        Settings.default().with_policies(completion=off)
    without_ocop = Settings.default().with_features(omni_channel_order_payments=False)
    assert not without_ocop.with_policies(completion=off).completion.completion_for_call_center


@given(st.sets(st.sampled_from(list(PaymentMethod)), min_size=1), st.booleans())
def test_an_unmapped_method_is_a_warning(unmapped: set[PaymentMethod], ocop: bool) -> None:
    """F3: each unmapped method gets one warning and, with OCOP on, cannot be edited."""
    mapping = tuple((m, op) for m, op in DEFAULT_METHOD_OPERATIONS if m not in unmapped)
    settings = Settings.default().with_features(omni_channel_order_payments=ocop)
    settings = settings.with_policies(method_operations=mapping)
    warnings = settings.warnings()
    assert len(warnings) == len(unmapped)
    for method in PaymentMethod:
        named = [w for w in warnings if f"'{method.value}'" in w]
        assert len(named) == (method in unmapped)
        assert settings.editable_method(method) == (not ocop or method not in unmapped)
    assert all(w.startswith("F3") for w in warnings)
    assert all(("cannot be edited" in w) == ocop for w in warnings)


@pytest.mark.parametrize(
    "mapping",
    [
        ((PaymentMethod.CASH, 200), (PaymentMethod.CASH, 201)),
        (*DEFAULT_METHOD_OPERATIONS, (PaymentMethod.GIFT_CARD, 214)),
        ((PaymentMethod.CASH, 0),),
        ((PaymentMethod.CASH, -200),),
    ],
)
def test_a_method_mapped_twice_or_to_no_operation_number_is_invalid(
    mapping: tuple[tuple[PaymentMethod, int], ...],
) -> None:
    """F3: each method maps to one POS operation, a number of 1 or more; a method named twice
    (which operation is it?) or mapped to 0 or a negative number raises InvalidSettings."""
    with pytest.raises(InvalidSettings):
        Settings.default().with_policies(method_operations=mapping)


def test_the_pos_operations_are_those_of_the_documentation() -> None:
    """F3: cash 200, card 201, customer account 202, currency 203, check 204, loyalty 207 ..."""
    assert dict(DEFAULT_METHOD_OPERATIONS) == {
        PaymentMethod.CASH: 200,
        PaymentMethod.CARD: 201,
        PaymentMethod.CUSTOMER_ACCOUNT: 202,
        PaymentMethod.CURRENCY: 203,
        PaymentMethod.CHECK: 204,
        PaymentMethod.LOYALTY: 207,
        PaymentMethod.CREDIT_MEMO: 213,
        PaymentMethod.GIFT_CARD: 214,
    }


@pytest.mark.parametrize("channel", CHANNELS)
def test_unified_defaults_post_every_channel_to_the_unified_journals(channel: str) -> None:
    """J2: with unified defaults on, every channel uses the unified payment and refund journals."""
    settings = Settings.default()
    assert settings.payment_journal(channel) == "OCOP-PAY"
    assert settings.refund_journal(channel) == "OCOP-REF"


@pytest.mark.parametrize("channel", CHANNELS)
def test_without_unified_defaults_each_channel_uses_its_own_journals(channel: str) -> None:
    """J2: with unified defaults off (and OCOP off, F1), each channel posts to its own journals."""
    settings = Settings.default().with_features(
        omni_channel_order_payments=False, unified_journal_defaults=False
    )
    journals = settings.journals
    assert settings.payment_journal(channel) == dict(journals.channel_payment)[channel]
    assert settings.refund_journal(channel) == dict(journals.channel_refund)[channel]
    assert settings.payment_journal(channel) != journals.unified_payment
    assert len({settings.payment_journal(c) for c in CHANNELS}) == 3


@pytest.mark.parametrize("channel", [["pos"], {"pos": 1}, {"pos"}])
def test_a_channel_journal_pair_of_an_unhashable_channel_is_invalid_settings(
    channel: object,
) -> None:
    """J2: channel journal names whose channel is a list, dict or set raise InvalidSettings
    (the settings' own error), not a TypeError."""
    pairs = ((channel, "P"), ("call_center", "C"), ("ecommerce", "E"))
    with pytest.raises(InvalidSettings):
        JournalNames(channel_payment=pairs)  # type: ignore[arg-type]
    with pytest.raises(InvalidSettings):
        JournalNames(channel_refund=pairs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "names",
    [
        {"unified_payment": ""},
        {"unified_refund": "  "},
        {"channel_payment": (("pos", "POS-PAY"), ("ecommerce", "ECOM-PAY"))},
        {"channel_refund": (("call_center", ""), ("pos", "P"), ("ecommerce", "E"))},
        {"channel_payment": (("call_center", "C"), ("pos", "P"), ("web", "W"))},
        {
            "channel_payment": (
                ("call_center", "C"),
                ("pos", "P"),
                ("ecommerce", "E"),
                ("pos", "P2"),
            )
        },
        {
            "channel_refund": (
                ("call_center", "C"),
                ("pos", "P"),
                ("ecommerce", "E"),
                ("ecommerce", "E"),
            )
        },
    ],
)
def test_journal_names_must_name_every_journal(names: dict[str, object]) -> None:
    """J2: a blank journal name, or channel names missing a channel or naming one twice (which
    journal would it post to?), raise InvalidSettings."""
    with pytest.raises(InvalidSettings):
        JournalNames(**names)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "days",
    [
        {"expiry_days": -1},
        {"stale_days": -1},
        {"expiry_days": True},
        {"stale_days": 1.5},
        {"expiry_days": 0},
    ],
)
def test_authorization_days_are_whole_and_not_negative(days: dict[str, object]) -> None:
    """Negative, boolean or fractional day counts raise InvalidSettings, and so does an
    expiry age of 0 days (the job would renew every authorization it had just made, void
    the new one and hold the order, A1)."""
    with pytest.raises(InvalidSettings) as refused:
        AuthorizationPolicy(**days)  # type: ignore[arg-type]
    allowed = "1 or more" if "expiry_days" in days else "0 or more"
    assert str(refused.value).endswith(f"must be a whole number of days, {allowed} (at most 36500)")


@given(st.integers(1, 400), st.integers(0, 400))
def test_the_stale_period_is_never_shorter_than_expiry(expiry: int, stale: int) -> None:
    """I3: stale_days below expiry_days raises InvalidSettings; otherwise the policy holds."""
    if stale < expiry:
        with pytest.raises(InvalidSettings):
            AuthorizationPolicy(expiry_days=expiry, stale_days=stale)
    else:
        policy = AuthorizationPolicy(expiry_days=expiry, stale_days=stale)
        assert (policy.expiry_days, policy.stale_days) == (expiry, stale)


def test_authorization_policy_defaults_to_14_and_30_days() -> None:
    """An authorization expires after 14 days and is stale after 30 by default; the renewal
    job renews from 2 days before the expiry, does not retry declined cards, works 100
    orders at a time and claims them for 10 minutes."""
    assert attrs.astuple(AuthorizationPolicy()) == (14, 30, 2, False, 100, 10)
    assert AuthorizationPolicy().renew_window == 2


@pytest.mark.parametrize(
    ("expiry", "within", "window"), [(14, 2, 2), (3, 2, 2), (2, 2, 1), (1, 5, 0), (1, 0, 0)]
)
def test_the_renewal_window_leaves_a_renewed_authorization_fresh(
    expiry: int, within: int, window: int
) -> None:
    """A1: the job renews at most ``expiry_days - 1`` days ahead, so what it renews is not
    due again at once."""
    policy = AuthorizationPolicy(expiry_days=expiry, stale_days=30, renew_within_days=within)
    assert policy.renew_window == window


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("renew_within_days", -1),
        ("renew_within_days", True),
        ("retry_declined", 1),
        ("retry_declined", "yes"),
        ("renew_batch_size", 0),
        ("renew_batch_size", 2.5),
        ("renew_claim_minutes", 0),
        ("renew_claim_minutes", False),
    ],
)
def test_renewal_settings_are_checked(field: str, value: object) -> None:
    with pytest.raises(InvalidSettings, match=field):
        AuthorizationPolicy(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "percent", [Decimal(-1), Decimal("100.01"), Decimal("NaN"), Decimal("Infinity"), 5, "5"]
)
@pytest.mark.parametrize("field", ["overpaid_threshold_percent", "underpaid_threshold_percent"])
def test_thresholds_are_decimal_percentages_from_0_to_100(field: str, percent: object) -> None:
    """A threshold below 0, above 100, non-finite or not a Decimal raises InvalidSettings."""
    with pytest.raises(InvalidSettings):
        CompletionPolicy(**{field: percent})  # type: ignore[arg-type]


@given(st.decimals(min_value=0, max_value=100, places=2))
def test_any_percentage_from_0_to_100_is_a_valid_threshold(percent: Decimal) -> None:
    """Thresholds accept every Decimal percentage from 0 to 100 inclusive."""
    policy = CompletionPolicy(overpaid_threshold_percent=percent)
    assert policy.overpaid_threshold_percent == percent


def test_check_hold_days_are_not_negative() -> None:
    """A negative number of check-hold days raises InvalidSettings."""
    with pytest.raises(InvalidSettings):
        CompletionPolicy(check_hold_days=-1)


def test_the_fallback_refund_method_is_check_or_customer_account() -> None:
    """R3: any other fallback refund method raises InvalidSettings, saying which are allowed."""
    assert RefundPolicy(fallback_method=PaymentMethod.CHECK).fallback_method is PaymentMethod.CHECK
    with pytest.raises(InvalidSettings) as caught:
        RefundPolicy(fallback_method=PaymentMethod.CASH)
    assert str(caught.value) == "the fallback refund method is check or customer_account"


@pytest.mark.parametrize(
    "changes",
    [
        {"expiry_days": 10**12, "stale_days": 10**12},
        {"stale_days": 36501},
        {"renew_within_days": 10**12},
        {"renew_claim_minutes": 10**12},
        {"renew_batch_size": 10**30},
    ],
)
def test_authorization_days_minutes_and_batches_have_an_upper_bound(
    changes: dict[str, int],
) -> None:
    """Settings are validated on construction: days above 36500 (a century), claims longer
    than a century and batches above a million orders raise InvalidSettings. Before, such
    a policy was accepted, and every invoice of an authorized order then raised
    OverflowError (a timedelta of 10**12 days), the renewal job too, and a batch of 10**30
    orders was more than a store can count."""
    with pytest.raises(InvalidSettings) as refused:
        AuthorizationPolicy(**changes)  # type: ignore[arg-type]
    assert any(name in str(refused.value) for name in changes)


def test_check_hold_days_have_an_upper_bound() -> None:
    """A CHECK hold of more than 36500 days raises InvalidSettings; before, 10**12 days was
    accepted and the submit that posted a check raised OverflowError."""
    with pytest.raises(InvalidSettings, match="check_hold_days"):
        CompletionPolicy(check_hold_days=10**12)
    assert CompletionPolicy(check_hold_days=36500).check_hold_days == 36500
