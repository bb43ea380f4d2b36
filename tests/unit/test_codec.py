"""The codec writes the bytes it always wrote, and reads ocop's own rows without validating.

The codec as it was (``codec_v0``) is the reference: the same values give the same
text, and rows it wrote read back to the values it read. Operations carry typed steps
since; for them the writer as it was before it was compiled (``codec_v1``: cattrs, then
``json.dumps``) is the reference, and a fixed text of each step kind pins the format.
Loading trusts the row: no validator and no ``__attrs_post_init__`` runs. The codec is
generic over frozen attrs classes, which the classes at the end of this module check.
"""

from __future__ import annotations

import functools
import gc
import json
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Any

import attrs
import codec_v0
import codec_v1
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop import (
    Authorization,
    AuthorizationToken,
    Capture,
    CaptureToken,
    CardToken,
    Channel,
    Customer,
    Hold,
    HoldCode,
    InvalidInput,
    Invoice,
    LineStatus,
    Money,
    Operation,
    Order,
    Outcome,
    PaymentLine,
    PaymentMethod,
    PaymentsType,
    ProcessorResult,
    Refund,
    RefundToken,
    ReleasedHold,
    Voucher,
)
from ocop.adapters import _writer as writer
from ocop.adapters._codec import dumps, loads
from ocop.domain import steps
from ocop.domain.tokens import ProcessorToken
from ocop.testing.strategies import card_tokens, currencies, non_card_text

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CARD = CardToken(
    value="tok_card", connector="sim", service_account="sa-1", brand="visa", last4="1111"
)


def usd(amount: str) -> Money:
    """US dollars."""
    return Money.of(amount, "USD")


def _auth(auth_id: str, amount: str, captured: str, voided: str = "0.00") -> Authorization:
    return Authorization(
        auth_id=auth_id,
        token=AuthorizationToken(f"tok_{auth_id}", "sim", "sa-1"),
        amount=usd(amount),
        authorized_at=AT,
        multi_capture=True,
        captured=usd(captured),
        voided=usd(voided),
        card_value=CARD.value,
    )


def _capture(capture_id: str, auth_id: str, amount: str, refunded: str = "0.00") -> Capture:
    return Capture(
        capture_id=capture_id,
        line_id="L1",
        invoice_id="INV-1",
        amount=usd(amount),
        auth_id=auth_id,
        token=CaptureToken(f"tok_{capture_id}", "sim", "sa-1"),
        refunded=usd(refunded),
        captured_at=AT + timedelta(days=1),
    )


def typical_order() -> Order:
    """One card line with 2 authorizations, 3 captures and 1 refund; 1 invoice."""
    line = attrs.evolve(
        PaymentLine.card_line("L1", CARD, usd("100.00"), instrument_id="PI-7"),
        status=LineStatus.PAID,
        authorizations=(_auth("A1", "60.00", "60.00"), _auth("A2", "40.00", "40.00")),
        captures=(
            _capture("C1", "A1", "30.00", refunded="10.00"),
            _capture("C2", "A1", "30.00"),
            _capture("C3", "A2", "40.00"),
        ),
        refunds=(
            Refund(
                refund_id="R1",
                return_id="RMA-1",
                amount=usd("10.00"),
                capture_id="C1",
                token=RefundToken("tok_R1", "sim", "sa-1"),
                refunded_at=AT + timedelta(days=2),
            ),
        ),
    )
    order = Order.open(
        "SO-1",
        channel=Channel.ECOMMERCE,
        payments_type=PaymentsType.COMMERCE,
        customer=Customer.named("C-1", on_account_limit=usd("500.00")),
        total=usd("100.00"),
        placed_at=AT,
    )
    invoice = Invoice(invoice_id="INV-1", amount=usd("100.00"), invoiced_at=AT)
    return attrs.evolve(order.with_line(line), invoices=(invoice,), version=4)


def rich_order() -> Order:
    """The typical order plus prepayments, holds, a fallback refund and a cancellation."""
    order = typical_order()
    cash = attrs.evolve(
        PaymentLine.prepayment_line("L2", PaymentMethod.CASH, usd("20.00")),
        status=LineStatus.PAID,
    )
    check = PaymentLine.prepayment_line(
        "L3", PaymentMethod.CHECK, usd("5.00"), check_number="000123"
    )
    fallback = Refund(
        refund_id="R2", return_id="RMA-2", amount=usd("5.00"), refunded_at=AT, method="cash"
    )
    return attrs.evolve(
        order.with_line(cash).with_line(check),
        holds=(
            Hold(
                code=HoldCode.CHECK,
                reason="check clears",
                placed_at=AT,
                until=AT + timedelta(days=5),
            ),
            Hold(code=HoldCode.MANUAL, reason="asked by the customer", placed_at=AT),
        ),
        other_refunds=(fallback,),
        needs_completion=True,
        cancelled=True,
        customer=Customer.guest(),
    )


def operations() -> list[Operation]:
    """An operation in doubt, one approved with a card token, one declined without amount."""
    capture = steps.Capture(invoice_id="INV-1", line_id="L1", auth_id="A1", amount=usd("30.00"),
                            target="tok_A1")  # fmt: skip
    intent = Operation.intent("SO-1", capture, 2, AT)
    captured = ProcessorResult(
        key=intent.key,
        outcome=Outcome.APPROVED,
        amount=usd("30.00"),
        token=CaptureToken("tok_C1", "sim", "sa-1"),
        multi_capture=True,
    )
    tokenize = Operation.intent("SO-2", steps.Tokenize(line_id="L1", instrument_id="PI-1"), 1, AT)
    tokenized = ProcessorResult(key=tokenize.key, outcome=Outcome.APPROVED, token=CARD)
    declined = ProcessorResult(key=intent.key, outcome=Outcome.DECLINED, reason="do not honor")
    return [
        intent,
        intent.resolved(captured, AT + timedelta(seconds=3)),
        tokenize.resolved(tokenized, AT),
        intent.resolved(declined, AT),
    ]


def step_operations() -> list[Operation]:
    """One operation of each step kind: in doubt, approved, pending, unknown or declined."""
    kwd = Money.of("12.345", "KWD")
    auth = AuthorizationToken("tok_A9", "sim", "sa-1")
    authorize = steps.Authorize(line_id="L1", auth_id="A9", amount=usd("60.00"), target="tok_card")
    adjust = steps.Adjust(line_id="L1", auth_id="A9", amount=usd("45.50"), target="tok_A9")
    void = steps.Void(line_id="L1", auth_id="A9", purpose=steps.VoidPurpose.REAUTHORIZE,
                      target="tok_A9")  # fmt: skip
    tokenize = steps.Tokenize(line_id="L2", instrument_id="PI-7")
    capture = steps.Capture(invoice_id="INV-2", line_id="L1", auth_id="A9", amount=usd("45.50"),
                            target="tok_A9")  # fmt: skip
    refund = steps.Refund(return_id="RMA-3", line_id="L1", capture_id="C9", number=2,
                          amount=usd("5.25"), target="tok_C9")  # fmt: skip
    unlinked = steps.UnlinkedRefund(return_id="RMA-4", number=1, amount=kwd, target="tok_card",
                                    connector="sim", service_account="sa-2")  # fmt: skip
    later = AT + timedelta(minutes=1, microseconds=250)

    def resolved(step: steps.Step, outcome: Outcome, **result: Any) -> Operation:
        intent = Operation.intent("SO-9", step, 3, AT)
        return intent.resolved(ProcessorResult(key=intent.key, outcome=outcome, **result), later)

    return [
        resolved(authorize, Outcome.APPROVED, amount=usd("60.00"), token=auth, multi_capture=True),
        Operation.intent("SO-9", adjust, 1, AT),
        resolved(void, Outcome.PENDING, reason="voided on settlement"),
        resolved(tokenize, Outcome.APPROVED, token=CARD),
        resolved(capture, Outcome.UNKNOWN),
        resolved(
            refund, Outcome.APPROVED, amount=usd("5.25"), token=RefundToken("tok_R9", "sim", "sa-1")
        ),
        resolved(unlinked, Outcome.DECLINED, reason="do not honor"),
    ]


#: The text of each operation of :func:`step_operations`, as the cattrs writer wrote it.
STEP_ROWS = {
    "Authorize": (
        '{"attempt":3,"key":"SO-9/authorize:A9#3","name":"authorize:A9","order_id":"SO-9",'
        '"outcome":"approved","recorded_at":"2026-03-01T09:30:00+00:00",'
        '"resolved_at":"2026-03-01T09:31:00.000250+00:00",'
        '"result":{"amount":{"amount":"60.00","currency":"USD"},"key":"SO-9/authorize:A9#3",'
        '"multi_capture":true,"outcome":"approved","reason":"","token":{"connector":"sim",'
        '"service_account":"sa-1","type":"AuthorizationToken","value":"tok_A9"}},'
        '"step":{"amount":{"amount":"60.00","currency":"USD"},"auth_id":"A9","line_id":"L1",'
        '"target":"tok_card","type":"Authorize"}}'
    ),
    "Adjust": (
        '{"attempt":1,"key":"SO-9/adjust:A9:45.50#1","name":"adjust:A9:45.50",'
        '"order_id":"SO-9","outcome":null,"recorded_at":"2026-03-01T09:30:00+00:00",'
        '"resolved_at":null,"result":null,"step":{"amount":{"amount":"45.50",'
        '"currency":"USD"},"auth_id":"A9","line_id":"L1","target":"tok_A9","type":"Adjust"}}'
    ),
    "Void": (
        '{"attempt":3,"key":"SO-9/void:A9#3","name":"void:A9","order_id":"SO-9",'
        '"outcome":"pending","recorded_at":"2026-03-01T09:30:00+00:00",'
        '"resolved_at":"2026-03-01T09:31:00.000250+00:00","result":{"amount":null,'
        '"key":"SO-9/void:A9#3","multi_capture":false,"outcome":"pending",'
        '"reason":"voided on settlement","token":null},"step":{"auth_id":"A9","line_id":"L1",'
        '"number":1,"purpose":"reauthorize","target":"tok_A9","type":"Void"}}'
    ),
    "Tokenize": (
        '{"attempt":3,"key":"SO-9/tokenize:L2#3","name":"tokenize:L2","order_id":"SO-9",'
        '"outcome":"approved","recorded_at":"2026-03-01T09:30:00+00:00",'
        '"resolved_at":"2026-03-01T09:31:00.000250+00:00","result":{"amount":null,'
        '"key":"SO-9/tokenize:L2#3","multi_capture":false,"outcome":"approved","reason":"",'
        '"token":{"brand":"visa","connector":"sim","expiry":null,"last4":"1111",'
        '"reusable":true,"service_account":"sa-1","type":"CardToken","value":"tok_card"}},'
        '"step":{"instrument_id":"PI-7","line_id":"L2","type":"Tokenize"}}'
    ),
    "Capture": (
        '{"attempt":3,"key":"SO-9/capture:INV-2:L1:A9#3","name":"capture:INV-2:L1:A9",'
        '"order_id":"SO-9","outcome":"unknown","recorded_at":"2026-03-01T09:30:00+00:00",'
        '"resolved_at":"2026-03-01T09:31:00.000250+00:00","result":{"amount":null,'
        '"key":"SO-9/capture:INV-2:L1:A9#3","multi_capture":false,"outcome":"unknown",'
        '"reason":"","token":null},"step":{"amount":{"amount":"45.50","currency":"USD"},'
        '"auth_id":"A9","invoice_id":"INV-2","line_id":"L1","number":1,"target":"tok_A9",'
        '"type":"Capture"}}'
    ),
    "Refund": (
        '{"attempt":3,"key":"SO-9/refund:RMA-3:C9:2#3","name":"refund:RMA-3:C9:2",'
        '"order_id":"SO-9","outcome":"approved","recorded_at":"2026-03-01T09:30:00+00:00",'
        '"resolved_at":"2026-03-01T09:31:00.000250+00:00","result":{"amount":{"amount":"5.25",'
        '"currency":"USD"},"key":"SO-9/refund:RMA-3:C9:2#3","multi_capture":false,'
        '"outcome":"approved","reason":"","token":{"connector":"sim","service_account":"sa-1",'
        '"type":"RefundToken","value":"tok_R9"}},"step":{"amount":{"amount":"5.25",'
        '"currency":"USD"},"capture_id":"C9","line_id":"L1","number":2,"return_id":"RMA-3",'
        '"target":"tok_C9","type":"Refund"}}'
    ),
    "UnlinkedRefund": (
        '{"attempt":3,"key":"SO-9/unlinked_refund:RMA-4:1#3","name":"unlinked_refund:RMA-4:1",'
        '"order_id":"SO-9","outcome":"declined","recorded_at":"2026-03-01T09:30:00+00:00",'
        '"resolved_at":"2026-03-01T09:31:00.000250+00:00","result":{"amount":null,'
        '"key":"SO-9/unlinked_refund:RMA-4:1#3","multi_capture":false,"outcome":"declined",'
        '"reason":"do not honor","token":null},"step":{"amount":{"amount":"12.345",'
        '"currency":"KWD"},"connector":"sim","number":1,"return_id":"RMA-4",'
        '"service_account":"sa-2","target":"tok_card","type":"UnlinkedRefund"}}'
    ),
}


def vouchers() -> list[Voucher]:
    """A receipt and a refund voucher."""
    common: dict[str, Any] = {
        "journal_name": "CARD",
        "order_id": "SO-1",
        "method": "card",
        "at": AT,
    }
    return [
        Voucher.receipt(voucher_id="V1", reference="C1", amount=usd("30.00"), **common),
        Voucher.refund(voucher_id="V2", reference="R1", amount=usd("10.00"), **common),
    ]


SAMPLES: list[Order | Operation | Voucher] = [
    typical_order(),
    rich_order(),
    *operations(),
    *step_operations(),
    *vouchers(),
]


# -- generated orders -------------------------------------------------------------------
def _ids(prefix: str) -> st.SearchStrategy[str]:
    return st.integers(1, 999).map(f"{prefix}-{{}}".format)


_ZONES: list[tzinfo | None] = [UTC, timezone(timedelta(hours=-5, minutes=-30)), None]
_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from(_ZONES),
)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    """Orders of any currency with card and prepayment lines, invoices, holds and refunds."""
    currency = draw(currencies())

    def units(low: int, high: int) -> Money:
        return Money.from_minor(draw(st.integers(low, high)), currency)

    card = draw(card_tokens())
    lines: list[PaymentLine] = []
    received = Money.zero(currency)
    for n in range(draw(st.integers(0, 2))):
        line_id = f"L{n}"
        auths: list[Authorization] = []
        captures: list[Capture] = []
        refunds: list[Refund] = []
        for a in range(draw(st.integers(0, 2))):
            amount = units(1, 10**6)
            captured = units(0, amount.minor)
            voided = units(0, (amount - captured).minor)
            auths.append(
                Authorization(
                    auth_id=f"{line_id}A{a}",
                    token=AuthorizationToken(f"tok_{line_id}A{a}", card.connector, "sa-1"),
                    amount=amount,
                    authorized_at=draw(_times),
                    multi_capture=draw(st.booleans()),
                    captured=captured,
                    voided=voided,
                    card_value=draw(st.sampled_from(["", card.value])),
                )
            )
            if captured.is_positive():
                refunded = units(0, captured.minor)
                captures.append(
                    Capture(
                        capture_id=f"{line_id}C{a}",
                        line_id=line_id,
                        invoice_id=draw(_ids("INV")),
                        amount=captured,
                        auth_id=f"{line_id}A{a}",
                        token=draw(st.none() | st.just(CaptureToken(f"tok_c{a}", "sim", "sa-1"))),
                        refunded=refunded,
                        captured_at=draw(_times),
                    )
                )
                received = received + captured
                if refunded.is_positive():
                    refunds.append(
                        Refund(
                            refund_id=f"{line_id}R{a}",
                            return_id=draw(_ids("RMA")),
                            amount=refunded,
                            capture_id=f"{line_id}C{a}",
                            token=draw(st.none() | st.just(RefundToken("tok_r", "sim", "sa-1"))),
                            refunded_at=draw(_times),
                        )
                    )
        lines.append(
            PaymentLine(
                line_id=line_id,
                method=PaymentMethod.CARD,
                amount=units(1, 10**6),
                status=draw(st.sampled_from(LineStatus)),
                card=card,
                instrument_id=draw(st.none() | _ids("PI")),
                authorizations=tuple(auths),
                captures=tuple(captures),
                refunds=tuple(refunds),
                pending_removal=draw(st.booleans()),
                needs_tokenize=draw(st.booleans()),
            )
        )
    for n in range(draw(st.integers(0, 2))):
        method = draw(st.sampled_from([m for m in PaymentMethod if m is not PaymentMethod.CARD]))
        lines.append(
            PaymentLine(
                line_id=f"P{n}",
                method=method,
                amount=units(1, 10**6),
                status=draw(st.sampled_from([LineStatus.NOT_SUBMITTED, LineStatus.PAID])),
                check_number=draw(st.none() | non_card_text()),
            )
        )
    line_refunds = sum((line.refunded for line in lines), Money.zero(currency))
    other_refunds: list[Refund] = []
    if received > line_refunds and draw(st.booleans()):
        other_refunds.append(
            Refund(
                refund_id="R-other",
                return_id="RMA-9",
                amount=units(1, (received - line_refunds).minor),
                refunded_at=draw(_times),
                method=draw(st.sampled_from(["card", "cash"])),
            )
        )
    holds = [
        Hold(
            code=code,
            reason=draw(non_card_text()),
            placed_at=draw(_times),
            until=draw(st.none() | _times),
            placed_by=draw(st.just("system") | _ids("cc")),
            reason_code=draw(st.none() | st.sampled_from(["FRAUD", "OTHER"])),
            note=draw(st.just("") | non_card_text()),
        )
        for code in draw(st.lists(st.sampled_from(HoldCode), unique=True, max_size=3))
    ]
    # S4: some of them released, kept as history with who, when and whether overridden.
    released = tuple(
        ReleasedHold(
            hold=hold,
            released_by=draw(_ids("cc")),
            released_at=draw(_times),
            override=draw(st.booleans()),
        )
        for hold in holds[draw(st.integers(0, len(holds))) :]
    )
    customer = draw(
        st.just(Customer.guest())
        | st.builds(Customer.named, _ids("C"), st.none() | st.just(Money.zero(currency)))
    )
    return Order(
        order_id=draw(non_card_text().filter(str.strip)),
        channel=draw(st.sampled_from(Channel)),
        payments_type=draw(st.sampled_from(PaymentsType)),
        customer=customer,
        total=units(0, 10**7),
        lines=tuple(lines),
        invoices=tuple(
            Invoice(invoice_id=f"INV-{i}", amount=units(0, 10**5), invoiced_at=draw(_times))
            for i in range(draw(st.integers(0, 2)))
        ),
        holds=tuple(h for h in holds if h not in {r.hold for r in released}),
        released_holds=released,
        other_refunds=tuple(other_refunds),
        needs_completion=draw(st.booleans()),
        cancelled=draw(st.booleans()),
        placed_at=draw(_times),
        version=draw(st.integers(0, 10**6)),
    )


@st.composite
def generated_operations(draw: st.DrawFn) -> Operation:
    """Operations of every step kind, in doubt or resolved with any outcome and token."""
    currency = draw(currencies())
    amounts = st.integers(0, 10**7).map(lambda minor: Money.from_minor(minor, currency))
    ids = st.sampled_from(["L1", "A1", "C1", "INV-1", "RMA-1"]) | _ids("X")
    targets = _ids("tok")
    numbers = st.integers(1, 99)
    step = draw(
        st.one_of(
            st.builds(steps.Authorize, line_id=ids, auth_id=ids, amount=amounts, target=targets),
            st.builds(steps.Adjust, line_id=ids, auth_id=ids, amount=amounts, target=targets),
            st.builds(
                steps.Void,
                line_id=ids,
                auth_id=ids,
                target=targets,
                purpose=st.sampled_from(steps.VoidPurpose),
            ),
            st.builds(steps.Tokenize, line_id=ids, instrument_id=ids),
            st.builds(
                steps.Capture,
                invoice_id=ids,
                line_id=ids,
                auth_id=ids,
                amount=amounts,
                target=targets,
            ),
            st.builds(
                steps.Refund,
                return_id=ids,
                line_id=ids,
                capture_id=ids,
                number=numbers,
                amount=amounts,
                target=targets,
            ),
            st.builds(
                steps.UnlinkedRefund, return_id=ids, number=numbers, amount=amounts, target=targets
            ),
        )
    )
    intent = Operation.intent(draw(_ids("SO")), step, draw(st.integers(1, 9)), draw(_times))
    if draw(st.booleans()):
        return intent
    token_classes = [ProcessorToken, AuthorizationToken, CaptureToken, RefundToken]
    tokens = st.sampled_from(token_classes).flatmap(
        lambda cls: st.builds(cls, targets, st.just("sim"), st.just("sa-1"))
    )
    result = ProcessorResult(
        key=intent.key,
        outcome=draw(st.sampled_from(Outcome)),
        amount=draw(st.none() | amounts),
        token=draw(st.none() | tokens | card_tokens()),
        multi_capture=draw(st.booleans()),
        reason=draw(non_card_text()),
    )
    return intent.resolved(result, draw(_times))


def _old_loads(text: str, like: Order | Operation | Voucher) -> Order | Operation | Voucher:
    """``text`` read by the old codec as the class of ``like``."""
    if isinstance(like, Order):
        return codec_v0.loads(text, Order)
    if isinstance(like, Operation):
        return codec_v0.loads(text, Operation)
    return codec_v0.loads(text, Voucher)


# -- the stored format ------------------------------------------------------------------
UNCHANGED = [v for v in SAMPLES if not isinstance(v, Operation)]


@pytest.mark.parametrize("value", UNCHANGED, ids=lambda value: type(value).__name__)
def test_the_codec_writes_what_it_always_wrote(value: Order | Operation | Voucher) -> None:
    """Orders and vouchers give the same text as the codec as it was (operations now carry
    typed steps; their old rows are read by the legacy reader)."""
    assert dumps(value) == codec_v0.dumps(value)


@pytest.mark.parametrize("value", UNCHANGED, ids=lambda value: type(value).__name__)
def test_rows_read_back_to_equal_values(value: Order | Operation | Voucher) -> None:
    """Every sample reads back equal to itself, and equal to what the old codec read."""
    text = dumps(value)
    assert loads(text, type(value)) == value == _old_loads(text, value)


@pytest.mark.parametrize("value", SAMPLES, ids=lambda value: type(value).__name__)
def test_the_compiled_writer_writes_what_cattrs_wrote(value: Order | Operation | Voucher) -> None:
    """Every sample, operations of each step kind included, gives the text of the writer
    as it was (cattrs, then json.dumps)."""
    assert dumps(value) == codec_v1.dumps(value)


@pytest.mark.parametrize("operation", step_operations(), ids=lambda op: type(op.step).__name__)
def test_each_step_kind_keeps_its_text(operation: Operation) -> None:
    """An operation of each step kind gives the text its rows have, its step tagged."""
    assert dumps(operation) == STEP_ROWS[type(operation.step).__name__]


@pytest.mark.parametrize(
    "operation", operations() + step_operations(), ids=lambda op: f"{op.key}:{op.outcome}"
)
def test_operations_read_back_to_equal_values(operation: Operation) -> None:
    """An operation with its typed step reads back equal, its step of the same class."""
    assert loads(dumps(operation), Operation) == operation


def test_a_void_row_written_before_voids_were_numbered_reads_as_the_first_void() -> None:
    """O4: a Void step stored without its ``number`` (before it had one) is the first void
    of its authorization, with the key it always had."""
    row = STEP_ROWS["Void"].replace('"number":1,', "")
    operation = loads(row, Operation)
    assert isinstance(operation.step, steps.Void)
    assert operation.step.number == 1
    assert operation.step.name("SO-9") == operation.name == "void:A9"


def test_an_unlinked_refund_row_written_before_it_named_its_account_reads_without_one() -> None:
    """O4: an UnlinkedRefund step stored before it carried the paid card's connector and
    service account reads with neither; it is the same request, under the same key (the
    two are not part of what the step asks)."""
    row = STEP_ROWS["UnlinkedRefund"].replace('"connector":"sim",', "")
    row = row.replace('"service_account":"sa-2",', "")
    operation = loads(row, Operation)
    assert isinstance(operation.step, steps.UnlinkedRefund)
    assert (operation.step.connector, operation.step.service_account) == ("", "")
    assert operation.step.name("SO-9") == operation.name == "unlinked_refund:RMA-4:1"
    assert operation == loads(STEP_ROWS["UnlinkedRefund"], Operation)


def test_movement_rows_written_before_they_named_their_journal_read_without_one() -> None:
    """O4: captures and refunds stored before they recorded the journal their voucher
    posted to read with none (a reversal of one goes by its voucher, J2); one that names
    it reads it back."""
    order = typical_order()
    row = dumps(order)
    old = row.replace('"journal":"",', "")
    assert '"journal"' not in old
    read = loads(old, Order)
    assert read == order
    assert (
        {c.journal for c in read.lines[0].captures}
        == {r.journal for r in read.lines[0].refunds}
        == {""}
    )
    line = order.lines[0]
    named = attrs.evolve(
        line, captures=tuple(attrs.evolve(c, journal="OCOP-PAY") for c in line.captures)
    )
    assert loads(dumps(order.with_line(named)), Order).lines[0].captures[0].journal == "OCOP-PAY"


def test_the_domain_values_are_written_by_compiled_writers() -> None:
    """Orders, operations and vouchers get compiled writers, none left whole to cattrs
    (which would write the same text, slower)."""
    for value in SAMPLES:
        dumps(value)
    known = {**writer._WRITERS, **writer._TAGGED_WRITERS}
    ours = {cls: write for cls, write in known.items() if cls.__module__.startswith("ocop.")}
    assert {Order, Operation, Voucher, PaymentLine, steps.Refund, CardToken} <= ours.keys()
    assert all(write.__qualname__ == f"write_{cls.__name__}" for cls, write in ours.items())


def test_an_operation_row_of_version_0_reads_as_its_typed_step() -> None:
    """A 0.1.0 row (step name, kind, target, context) keeps its key and name, typed."""
    row = (
        '{"amount":{"amount":"10.00","currency":"USD"},"attempt":1,"context":[["auth_id",'
        '"L1.A1"],["invoice_id","INV-1"],["line_id","L1"]],"key":"SO-1/capture:INV-1:L1:'
        'L1.A1#1","kind":"capture","order_id":"SO-1","outcome":null,"recorded_at":'
        '"2026-01-01T00:00:00+00:00","resolved_at":null,"result":null,"step":'
        '"capture:INV-1:L1:L1.A1","target":"auth_1"}'
    )
    op = loads(row, Operation)
    assert (op.key, op.name, op.attempt) == ("SO-1/capture:INV-1:L1:L1.A1#1",
                                             "capture:INV-1:L1:L1.A1", 1)  # fmt: skip
    assert op.step == steps.Capture(invoice_id="INV-1", line_id="L1", auth_id="L1.A1",
                                    amount=usd("10.00"), target="auth_1")  # fmt: skip
    assert op.step.name("SO-1") == op.name


@given(orders())
def test_generated_orders_keep_the_format(order: Order) -> None:
    """For any order the text is the old codec's, and it reads back equal in both codecs."""
    text = dumps(order)
    assert text == codec_v0.dumps(order) == codec_v1.dumps(order)
    assert loads(text, Order) == order == codec_v0.loads(text, Order)


@given(generated_operations())
def test_generated_operations_keep_the_format(operation: Operation) -> None:
    """For any operation the text is the cattrs writer's, and it reads back equal."""
    text = dumps(operation)
    assert text == codec_v1.dumps(operation)
    loaded = loads(text, Operation)
    assert loaded == operation
    assert type(loaded.step) is type(operation.step)


def test_a_typical_order_reads_back_with_working_derived_values() -> None:
    """A loaded order hashes, compares and derives its sums like the one that was written."""
    order = typical_order()
    loaded = loads(dumps(order), Order)
    assert hash(loaded) == hash(order)
    assert (loaded.received, loaded.refunded, loaded.status) == (
        order.received,
        order.refunded,
        order.status,
    )
    token = loaded.lines[0].refunds[0].token
    assert type(token) is RefundToken
    assert type(loaded.lines[0].card) is CardToken
    assert loaded.placed_at.tzinfo is not None


def test_loading_runs_no_validator() -> None:
    """A row is trusted: a negative total that the constructor refuses is read as written."""
    row = json.loads(dumps(typical_order()))
    row["total"]["amount"] = "-1.00"
    with pytest.raises(ExceptionGroup) as refused:  # cattrs groups the constructor's error
        codec_v0.loads(json.dumps(row), Order)
    assert isinstance(refused.value.exceptions[0], InvalidInput)
    assert loads(json.dumps(row), Order).total == usd("-1.00")


def test_fields_missing_from_a_row_take_their_defaults() -> None:
    """A row written before a field existed reads with the field's attrs default."""
    row = json.loads(dumps(typical_order()))
    del row["version"], row["other_refunds"]
    del row["lines"][0]["needs_tokenize"], row["lines"][0]["authorizations"][0]["card_value"]
    del row["lines"][0]["card"]["reusable"]
    order = loads(json.dumps(row), Order)
    assert (order.version, order.other_refunds) == (0, ())
    line = order.lines[0]
    assert (line.needs_tokenize, line.authorizations[0].card_value) == (False, "")
    assert line.card is not None
    assert line.card.reusable is True


def test_unknown_keys_are_ignored() -> None:
    """Keys a class does not know (a removed field) are skipped."""
    row = json.loads(dumps(typical_order()))
    row["retired_field"] = [1, 2]
    row["customer"]["nickname"] = "x"
    assert loads(json.dumps(row), Order) == typical_order()


def test_a_token_reads_as_the_class_its_row_names() -> None:
    """A field typed as the token base class reads each row as the subclass it names."""
    tokenized = operations()[2]
    loaded = loads(dumps(tokenized), Operation)
    assert loaded.result is not None
    assert type(loaded.result.token) is CardToken
    assert loaded.result.card == CARD


# -- generic attrs classes --------------------------------------------------------------
class Speed(StrEnum):
    """An enum read by value."""

    SLOW = "slow"
    FAST = "fast"


@attrs.frozen(kw_only=True)
class Authorize:
    """A step of a plan, tagged when it sits in a union."""

    amount: Money
    card: ProcessorToken


@attrs.frozen(kw_only=True)
class Charge:
    """Another step."""

    amount: Money
    invoices: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Release:
    """A step with no fields of its own but a default."""

    why: str = "unused"


@attrs.frozen(kw_only=True)
class Plan:
    """A class of every kind of field the codec reads."""

    step: Authorize | Charge | Release
    next_step: Authorize | Charge | None = None
    steps: tuple[Authorize | Charge | Release, ...] = ()
    speed: Speed = Speed.SLOW
    ratio: Decimal = Decimal("0.5")
    pairs: tuple[tuple[str, int], ...] = ()
    at: datetime | None = None
    notes: list[str] = attrs.Factory(list)
    label: str = attrs.Factory(lambda self: f"plan at {self.speed}", takes_self=True)
    calls: int = attrs.field(default=0)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "calls", self.calls + 1)

    @functools.cached_property
    def summary(self) -> str:
        """Computed on first read, never stored."""
        return f"{type(self.step).__name__}/{self.speed}"


@attrs.frozen
class Node:
    """A recursive class with a cached hash."""

    name: str
    parent: Node | None = None


@attrs.frozen(cache_hash=True)
class Hashed:
    """A class that caches its hash in a slot."""

    node: Node


def test_a_union_of_attrs_classes_is_tagged_and_dispatched() -> None:
    """Each value of a union field carries its class name and reads back as that class."""
    plan = Plan(
        step=Authorize(amount=usd("5.00"), card=CARD),
        next_step=Charge(amount=usd("5.00"), invoices=("INV-1",)),
        steps=(Release(), Charge(amount=usd("1.00"))),
        speed=Speed.FAST,
        ratio=Decimal("0.125"),
        pairs=(("a", 1), ("b", 2)),
        at=AT,
    )
    assert dumps(plan) == codec_v1.dumps(plan)
    row = json.loads(dumps(plan))
    assert row["step"]["type"] == "Authorize"
    assert row["step"]["card"]["type"] == "CardToken"
    assert [s["type"] for s in row["steps"]] == ["Release", "Charge"]
    assert row["ratio"] == "0.125"
    loaded = loads(dumps(plan), Plan)
    assert loaded == plan  # attrs equality compares classes too: the token is a CardToken
    assert loaded.calls == plan.calls == 1  # __attrs_post_init__ ran once, when built


def test_defaults_and_factories_fill_a_sparse_row() -> None:
    """Absent fields take their defaults, factories included (with self when asked)."""
    plan = loads('{"step":{"type":"Release"},"speed":"fast"}', Plan)
    assert (plan.step, plan.next_step, plan.steps, plan.ratio) == (
        Release(),
        None,
        (),
        Decimal("0.5"),
    )
    assert (plan.label, plan.notes, plan.calls) == ("plan at fast", [], 0)


def test_a_cached_property_is_left_to_compute_on_first_read() -> None:
    """The slot of a cached property is not set by loading; reading it computes it."""
    plan = loads(dumps(Plan(step=Release(), speed=Speed.FAST)), Plan)
    assert plan.summary == "Release/fast"


def test_recursive_classes_and_cached_hashes_load() -> None:
    """A class that holds itself reads back, and a cache_hash class can be hashed."""
    value = Hashed(Node("leaf", Node("mid", Node("root"))))
    assert dumps(value) == codec_v1.dumps(value)
    loaded = loads(dumps(value), Hashed)
    assert loaded == value
    assert hash(loaded) == hash(value)


@attrs.frozen
class Typed:
    """A class whose own field is named like the tag."""

    type: str


@attrs.frozen
class Holder:
    """A union of a class with a ``type`` field and another."""

    item: Typed | Node


@attrs.frozen
class Bag:
    """A field of a type the codec does not read."""

    names: frozenset[str]


def test_a_union_member_with_a_type_field_is_refused() -> None:
    """A class with its own ``type`` field could not be told apart from its tag."""
    with pytest.raises(TypeError, match="field named 'type'"):
        dumps(Holder(Typed("x")))
    with pytest.raises(TypeError, match="field named 'type'"):
        loads('{"item": {"type": "Typed"}}', Holder)


def test_a_field_of_a_type_the_codec_does_not_know_is_refused() -> None:
    """Reading a class with a field of an unsupported type fails when it is first read."""
    with pytest.raises(TypeError, match="cannot read"):
        loads('{"names": []}', Bag)


def test_a_row_tagged_with_a_class_the_union_does_not_hold_is_refused() -> None:
    """A union field whose row names a class outside the union raises ValueError naming it."""
    with pytest.raises(ValueError, match="no class named 'Refund' among"):
        loads('{"step": {"type": "Refund"}}', Plan)


def test_a_token_read_as_the_token_base_class_is_the_class_its_row_names() -> None:
    """Read as ProcessorToken itself, every row gives the subclass it names, each time."""
    auth = AuthorizationToken("tok_A1", "sim", "sa-1")
    for _ in range(2):
        assert loads(dumps(CARD), ProcessorToken) == CARD
        assert loads(dumps(auth), ProcessorToken) == auth
    assert type(loads(dumps(auth), ProcessorToken)) is AuthorizationToken


def test_the_codec_reads_attrs_classes_only() -> None:
    """Asked to read a type that is not an attrs class, loads raises TypeError naming it."""
    with pytest.raises(TypeError, match="the codec reads attrs classes, not <class 'int'>"):
        loads("1", int)


@attrs.frozen
class Tip:
    """A field that is a union of an attrs class and a plain type."""

    amount: Money | str


def test_a_union_of_an_attrs_class_and_another_type_is_refused() -> None:
    """Only unions of attrs classes carry a tag: any other mix cannot be read back, so the
    class is refused when it is first read."""
    with pytest.raises(TypeError, match="only unions of attrs classes are tagged"):
        loads('{"amount": "1.00"}', Tip)


@attrs.frozen
class Leg:
    """A fixed-length tuple of an attrs value and a plain one."""

    leg: tuple[Money, str]
    legs: tuple[tuple[str, int], Speed] = (("a", 1), Speed.SLOW)


@attrs.frozen(slots=False)
class Loose:
    """An attrs class without slots: its fields live in the instance's dict."""

    name: str
    amount: Money
    at: datetime | None = None


@pytest.mark.parametrize(
    "value",
    [
        Leg((usd("1.00"), "x")),
        Leg((usd("2.00"), "y"), (("b", 2), Speed.FAST)),
        Loose("n", usd("3.00")),
        Loose("m", usd("4.00"), AT),
    ],
    ids=["tuple-of-money-and-text", "nested-tuple-and-enum", "dict-class", "dict-class-time"],
)
def test_fixed_tuples_of_values_and_classes_without_slots_read_back_equal(
    value: Leg | Loose,
) -> None:
    """A fixed-length tuple holding attrs values or enums, and a class without slots, read
    back equal to what was written, of the same classes."""
    loaded = loads(dumps(value), type(value))
    assert loaded == value
    assert type(loaded) is type(value)


def test_a_slotted_token_class_read_before_the_collector_ran_is_read() -> None:
    """E3: attrs builds a slotted class anew and leaves the class it was drafted from among
    its base's subclasses until the garbage collector frees it. A process that reads the
    first row of a token class before the collector ran (a worker started for a
    notification, a restart) found two classes of that name and refused the row as damaged
    (``StorageError``, from "more than one class named 'CaptureToken'"), and the call
    failed."""
    gc.disable()
    try:

        @attrs.frozen(repr=False)
        class ReversalToken(ProcessorToken):
            """A token class defined while the collector waits, as at import."""

        token = ReversalToken("tok_R1", "sim", "sa-1")
        assert loads(dumps(token), ProcessorToken) == token
    finally:
        gc.enable()


def test_a_stored_negative_zero_reads_back_as_plain_zero() -> None:
    """V7: an amount stored as "-0.00" (written from Money built directly, before its
    constructor dropped the sign) reads back as 0.00, shown without a sign."""
    read = loads('{"amount":"-0.00","currency":"USD"}', Money)
    assert read == Money.zero("USD")
    assert repr(read) == "Money('0.00', 'USD')"
