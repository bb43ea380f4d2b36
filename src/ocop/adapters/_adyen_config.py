"""The settings of the Adyen connector (:class:`AdyenConfig`), checked as they are built (E1)."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs

from ocop.domain.edge import check_seconds, valid_bool, valid_optional_reference, valid_reference
from ocop.domain.errors import InvalidArgument
from ocop.domain.money import Money

__all__ = ["AdyenConfig"]


#: What a live URL prefix holds: a host name's letters, digits, "-" (and "_").
_PREFIX_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")
#: The longest prefix: with "-checkout-live", one part of a host name (63 characters).
_PREFIX_LIMIT = 63 - len("-checkout-live")


def _setting(fits: Callable[[Any], object], what: str) -> Callable[[Any, Any, Any], None]:
    """An attrs validator: unless ``fits(value)``, InvalidArgument saying the setting must
    be ``what`` (never quoting the value: an API key is a secret)."""

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not fits(value):
            raise InvalidArgument(f"AdyenConfig.{attribute.name} must be {what}",
                                  argument=f"AdyenConfig.{attribute.name}")  # fmt: skip

    return validate


def _is_prefix(prefix: str) -> bool:
    """Whether ``prefix`` can start a live host's name: a host name's characters, not
    starting or ending with "-" (<prefix>-checkout-live would be no host, or another one),
    nor holding the host's own ending (the first part of the host pasted whole)."""
    if len(prefix) > _PREFIX_LIMIT or not set(prefix) <= _PREFIX_CHARACTERS:
        return False
    return not prefix.startswith("-") and not prefix.endswith(("-", "-checkout-live", "-pal-live"))


def _base_url(value: Any) -> bool:
    """Whether ``value`` is None or a URL the library can send to as it is given."""
    if value is None:
        return True
    if not isinstance(value, str) or value.endswith("/") or not value.isprintable():
        return False
    try:
        url = urlsplit(value)
        host = url.hostname
        url.port  # noqa: B018 - read to check it: ValueError for one not a number to 65535
    except ValueError:  # a malformed port or IPv6 address
        return False
    plain = not url.query and not url.fragment and " " not in value
    return url.scheme in ("http", "https") and bool(host) and plain


def _seconds(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_seconds(value, f"AdyenConfig.{attribute.name}")


def _currency(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    Money.zero(value)  # UnknownCurrency (InvalidInput) for what is not a currency Money takes


@attrs.frozen(kw_only=True)
class AdyenConfig:
    """How to reach one Adyen merchant account, and what it allows.

    ``namespace``: one per back office (letters, digits, ``-``; at most 16 characters),
    the start of every idempotency key. ``checkout_url``: the Checkout API's base URL
    (None: the library's own for ``platform``; a local emulator's in tests, as
    ``http://127.0.0.1:8080/v72``, which the library must not rewrite: no "-live" in it
    on the test platform, no "-test" on live).
    ``service_account``: the name ocop gives the account in tokens (default: the merchant
    account). The capabilities are the merchant account's (multi-capture, amount updates).
    ``live_endpoint_prefix``: the prefix of the company account's live URLs (Customer
    Area, Developers, API URLs), as ``1797a841fbb37ca7-AdyenDemo``: the start of the host
    name, never the URL; required with ``platform="live"``.
    """

    api_key: str = attrs.field(
        repr=False, validator=_setting(lambda v: isinstance(v, str) and v, "a non-empty string")
    )
    merchant_account: str = attrs.field(validator=valid_reference)
    namespace: str
    platform: str = "test"
    checkout_url: str | None = attrs.field(
        default=None,
        validator=_setting(
            _base_url, "None or a base URL as https://checkout-test.adyen.com/v72 (http or "
            "https, a host, a port that is a number, no trailing '/', query, fragment or space)",
        ),
    )  # fmt: skip
    service_account: str = attrs.field(default="", validator=valid_optional_reference)
    multi_capture: bool = attrs.field(default=True, validator=valid_bool)
    adjustments: bool = attrs.field(default=True, validator=valid_bool)
    key_lifetime: timedelta = attrs.field(
        default=timedelta(days=7),
        validator=_setting(
            lambda v: isinstance(v, timedelta) and v > timedelta(0), "a positive timedelta"
        ),
    )
    timeout_seconds: float = attrs.field(default=30.0, validator=_seconds)
    #: The currency of the zero-amount card verification that checks a saved card's CVV.
    verification_currency: str = attrs.field(default="USD", validator=_currency)
    live_endpoint_prefix: str = attrs.field(
        default="", validator=_setting(lambda v: isinstance(v, str), "a string")
    )

    def __attrs_post_init__(self) -> None:
        ns = self.namespace
        if (
            not isinstance(ns, str)
            or not (0 < len(ns) <= 16)
            or not all(c.isascii() and (c.isalnum() or c == "-") for c in ns)
        ):
            raise InvalidArgument(
                "namespace is 1 to 16 ASCII letters, digits or '-'", argument="namespace"
            )
        if self.platform not in ("test", "live"):
            raise InvalidArgument("platform is 'test' or 'live'", argument="platform")
        if self.platform == "live" and not self.live_endpoint_prefix:
            raise InvalidArgument(
                "the live platform needs live_endpoint_prefix", argument="live_endpoint_prefix"
            )
        # The library turns "-live" in a URL into "-test" on the test platform, and the
        # reverse on live: the calls would go to another host than the one configured.
        other = "-live" if self.platform == "test" else "-test"
        if self.checkout_url is not None and other in self.checkout_url:
            raise InvalidArgument(
                f"AdyenConfig.checkout_url holds {other!r}, which Adyen's library rewrites "
                f"on the {self.platform} platform",
                argument="AdyenConfig.checkout_url",
            )
        if (prefix := self.live_endpoint_prefix) and not _is_prefix(prefix):
            # The library makes the host https://<prefix>-checkout-live.adyenpayments.com:
            # a URL or host pasted here would send every call (and the API key) elsewhere.
            raise InvalidArgument(
                "live_endpoint_prefix is the start of the live URL's host name (as "
                f"1797a841fbb37ca7-AdyenDemo): at most {_PREFIX_LIMIT} letters, digits, '-' or "
                "'_', with no scheme, dot, path, '-' at either end nor '-checkout-live'",
                argument="live_endpoint_prefix",
            )

    @property
    def account(self) -> str:
        return self.service_account or self.merchant_account
