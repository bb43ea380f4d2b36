"""A local emulator of Adyen's Checkout API (v72) and its standard webhooks, for tests.

Point Adyen's official Python library at it through the service's ``baseUrl`` attribute
(the library uses it as given on the test platform)::

    with AdyenEmulator() as emu:
        adyen = Adyen.Adyen(xapikey=emu.api_key, platform="test")
        adyen.checkout.payments_api.baseUrl = emu.checkout_url
        adyen.checkout.modifications_api.baseUrl = emu.checkout_url

What it speaks (request and response JSON as in Adyen's API reference):

- ``POST /payments``: a card (``paymentMethod.type: scheme``) given either as a documented
  test card (``encryptedCardNumber: "test_4111111111111111"``) or as a stored payment
  method (``storedPaymentMethodId`` with its ``shopperReference`` and a
  ``recurringProcessingModel``). Every payment is authorised only (the merchant account
  captures manually). ``storePaymentMethod: true`` with ``shopperReference`` and
  ``recurringProcessingModel`` stores the card and answers its id in
  ``additionalData["tokenization.storedPaymentMethodId"]``. Answers ``resultCode``
  Authorised or Refused, ``pspReference``, ``merchantReference`` and ``amount``.
- ``POST /payments/{pspReference}/captures``, ``/cancels``, ``/refunds``,
  ``/amountUpdates``, ``/reversals``: answered 201 ``status: received`` with a new
  ``pspReference``, the ``paymentPspReference`` and the ``reference`` echoed; the outcome
  comes in a webhook (CAPTURE, CANCELLATION, REFUND, AUTHORISATION_ADJUSTMENT,
  CANCEL_OR_REFUND) whose ``success`` is ``"false"`` with a ``reason`` when a rule of
  :mod:`ocop.testing._adyen_ledger` refused it.
- ``POST``/``GET /storedPaymentMethods`` and ``DELETE /storedPaymentMethods/{id}``.

There is no unreferenced refund: neither Checkout v72 nor the classic Payment API v68
that the library 16 wraps offers one.

Idempotency: a request with an ``Idempotency-Key`` (at most 64 characters) is processed
once; the same key with the same method, path and body answers the stored response again
(no new movement); the same key with another request answers HTTP 422, ``errorCode``
"704", ``errorType`` "validation". Errors use Adyen's ``ServiceError`` shape (``status``,
``errorCode``, ``message``, ``errorType``).

Scripting (:meth:`AdyenEmulator.script`): the next call of a kind answers an HTTP 5xx
without being processed, is processed and then its connection dropped without an answer,
is refused (``payments``), succeeds and is then rejected by the scheme (``captures`` ->
CAPTURE then CAPTURE_FAILED, ``refunds`` -> REFUND then REFUND_FAILED), or is *held*
(a modification accepted and counted, its outcome decided later by
:meth:`AdyenEmulator.decide`, its webhook sent then). :meth:`AdyenEmulator.expire` lets a
payment's authorisation lapse (an EXPIRE webhook). A stored card paid with a security
code (``cvc``, or ``encryptedSecurityCode`` as ``test_737``) is refused ("CVC Declined")
unless it is the test cards' 737; amount 0 is a card verification. Webhooks
are queued, one notification item each, signed with the HMAC of Adyen's standard webhooks;
:meth:`AdyenEmulator.deliver` hands them over, duplicated, reordered or held back.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ocop.testing._adyen_api import API_VERSION, KINDS, CheckoutApi, Reply, error, route, sign_item
from ocop.testing._adyen_ledger import Ledger, Record

__all__ = ["KINDS", "AdyenEmulator", "Record", "sign_item"]


class _Drop(Exception):
    """Processed, but the client gets no answer."""


class AdyenEmulator:
    """An HTTP server on 127.0.0.1 emulating Adyen's Checkout API; a context manager.

    ``multi_capture``: whether the merchant account allows multiple partial captures (off:
    the first capture closes the authorisation). ``authorisation_webhooks``: whether a
    payment also queues an AUTHORISATION webhook.
    """

    def __init__(
        self,
        *,
        merchant_account: str = "OcopEmulatorMerchant",
        multi_capture: bool = True,
        authorisation_webhooks: bool = True,
        port: int = 0,
    ) -> None:
        self.merchant_account = merchant_account
        self.api_key = "emulator-" + secrets.token_hex(8)
        self.hmac_key = secrets.token_hex(32)
        self._api = CheckoutApi(
            merchant_account,
            self.hmac_key,
            Ledger(multi_capture=multi_capture),
            authorisation_webhooks,
        )
        self._lock = threading.Lock()
        self._scripts: dict[str, list[tuple[str, int]]] = {kind: [] for kind in KINDS}
        #: Per idempotency key: a digest of the request (never the request: a tokenize's
        #: CVV is in its body) and the reply.
        self._keys: dict[str, tuple[str, Reply]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.emulator = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def checkout_url(self) -> str:
        """The base URL to give the library's Checkout services as ``baseUrl``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/{API_VERSION}"

    def start(self) -> AdyenEmulator:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> AdyenEmulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- scripting and inspection ----------------------------------------------------------

    def script(self, kind: str, action: str, *, status: int = 500) -> None:
        """Script the next not-yet-scripted call of ``kind`` (one of :data:`KINDS`).

        ``action``: ``"error"`` (answer HTTP ``status``, nothing processed), ``"drop"``
        (processed, then the connection closed without an answer), ``"refused"``
        (``payments``: resultCode Refused), ``"failed"`` (``captures`` / ``refunds``:
        CAPTURE_FAILED / REFUND_FAILED after a successful CAPTURE / REFUND) or ``"held"``
        (a modification: accepted and counted, its outcome left to :meth:`decide`).
        """
        allowed = {"error", "drop"} | {
            "payments": {"refused"},
            "captures": {"failed", "held"},
            "refunds": {"failed", "held"},
            "cancels": {"held"},
            "amountUpdates": {"held"},
        }.get(kind, set())
        if kind not in KINDS or action not in allowed:
            raise ValueError(f"cannot script {action!r} for {kind!r}")
        with self._lock:
            self._scripts[kind].append((action, status))

    def clear_scripts(self) -> None:
        """Forget every script not used yet."""
        with self._lock:
            for queue in self._scripts.values():
                queue.clear()

    def decide(self, merchant_reference: str, *, success: bool) -> None:
        """Settle the held modification sent with ``merchant_reference`` (its request's
        ``reference``): succeeded, or declined and undone; its webhook is queued."""
        with self._lock:
            self._api.decide(merchant_reference, success=success)

    def held(self) -> list[str]:
        """The merchant references of the held modifications not decided yet."""
        with self._lock:
            return list(self._api.ledger.held)

    def expire(self, psp_reference: str) -> None:
        """Let the authorisation of the payment ``psp_reference`` lapse: nothing more can be
        captured on it; an EXPIRE webhook is queued."""
        with self._lock:
            self._api.expire(psp_reference)

    def records(self) -> list[Record]:
        """Every movement the emulator booked, oldest first."""
        with self._lock:
            return list(self._api.ledger.records)

    def webhooks(self) -> list[str]:
        """The webhook bodies (JSON text) not delivered yet, oldest first."""
        with self._lock:
            return list(self._api.pending)

    def remaining(self, psp_reference: str) -> int | None:
        """What the payment ``psp_reference`` can still capture (0 once closed; None: no
        such payment)."""
        with self._lock:
            payment = self._api.ledger.payments.get(psp_reference)
            return None if payment is None else payment.remaining

    def deliver(
        self,
        handler: Callable[[str], object] | str,
        *,
        duplicate: bool = False,
        reverse: bool = False,
        hold_back: int = 0,
    ) -> list[str]:
        """Deliver the pending webhooks; answer the bodies in the order they were sent.

        ``handler``: called with each body, or a URL each body is POSTed to (a non-2xx
        answer raises). ``reverse``: newest first. ``duplicate``: the whole batch is sent
        a second time after the first. ``hold_back``: the newest ``n`` stay pending for a
        later call. A body is no longer pending once delivered; if the handler raises,
        what was not delivered stays pending.
        """
        with self._lock:
            cut = max(len(self._api.pending) - hold_back, 0)
            batch = self._api.pending[:cut]
        order = list(reversed(batch)) if reverse else list(batch)
        sends = order + order if duplicate else order
        send = _poster(handler) if isinstance(handler, str) else handler
        sent: list[str] = []
        for body in sends:
            send(body)
            sent.append(body)
            with self._lock:
                if body in self._api.pending:
                    self._api.pending.remove(body)
        return sent

    # -- request handling ------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Answer one HTTP request (status, JSON body); raises :class:`_Drop` to drop it."""
        url = urlsplit(target)
        parts = url.path.strip("/").split("/")[1:]
        kind = route(url.path)
        if kind is None:
            return error(404, "000", "Not found", "validation")
        if headers.get("x-api-key") != self.api_key:
            return error(401, "000", "HTTP Status Response - Unauthorized", "security")
        with self._lock:
            queue = self._scripts[kind]
            action, status = queue[0] if queue else ("", 0)
            if action == "error":
                queue.pop(0)
                return error(status, "000", "Emulated server error", "internal")
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                return error(400, "702", "Unexpected input: not JSON")
            key = headers.get("idempotency-key")
            request = _digest(method, url.path, body)
            if key and len(key) > 64:
                return error(400, "702", "Idempotency-Key longer than 64 characters")
            if key and key in self._keys:
                stored_request, stored_reply = self._keys[key]
                if stored_request != request:
                    return error(422, "704", "request already processed or in progress")
                reply = stored_reply
                # A replay processes nothing: only a dropped connection applies to it.
                action = action if action == "drop" else ""
                if action:
                    queue.pop(0)
            else:
                if queue:
                    queue.pop(0)
                reply = self._api.process(method, parts, parse_qs(url.query), body, action)
                if key:
                    self._keys[key] = (request, reply)
        if action == "drop":
            raise _Drop
        return reply


def _digest(method: str, path: str, body: object) -> str:
    """What tells two requests apart, kept instead of the request itself."""
    text = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _poster(url: str) -> Callable[[str], object]:
    def post(body: str) -> object:
        request = urllib.request.Request(  # noqa: S310 (a test URL given by the caller)
            url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status

    return post


class _Handler(BaseHTTPRequestHandler):
    def _serve(self) -> None:
        emulator: AdyenEmulator = self.server.emulator  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            status, body = emulator.handle(self.command, self.path, headers, raw)
        except _Drop:
            self.close_connection = True
            return
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if "idempotency-key" in headers:
            self.send_header("Idempotency-Key", headers["idempotency-key"])
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _serve  # noqa: N815 (http.server's method names)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read records and webhooks, not a request log."""
