"""``ProcessorRouter`` (I5): one back office over the processors of several accounts.

Each call goes to the processor whose connector and account issued its token; a token no
processor serves is refused before any call; recovery finds the processor that knows a
key; and the router passes the processor contract suite.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest

from ocop import (
    Actor,
    AmbiguousInstrument,
    AuthorizationToken,
    BackOffice,
    CaptureToken,
    CardPayment,
    Channel,
    ConnectorMismatch,
    Customer,
    FeatureDisabled,
    InvalidArgument,
    Notification,
    NotificationEvent,
    OrderNotFound,
    Outcome,
    ProcessorResult,
    SavedCardPayment,
    SavedInstrument,
)
from ocop.adapters.memory import ManualClock
from ocop.adapters.routing import ProcessorRouter
from ocop.adapters.simulated import SimulatedProcessor
from ocop.testing.contracts import KeyedEntry, ProcessorContract
from worlds import CUSTOMER, START, card, usd

AGENT = Actor.call_center("agent-1")


def two_accounts() -> tuple[SimulatedProcessor, SimulatedProcessor, BackOffice]:
    clock = ManualClock(START)
    pos = SimulatedProcessor(clock=clock, service_account="sa-pos", adjustments=False)
    web = SimulatedProcessor(clock=clock, service_account="sa-web")
    bo = BackOffice.in_memory(processor=ProcessorRouter([pos, web]), clock=clock)
    return pos, web, bo


def place(bo: BackOffice, order_id: str, account: str, channel: Channel) -> None:
    token = card(f"tok_{account}", service_account=account)
    bo.place_order(order_id, channel=channel, customer=Customer.guest(), total=usd("50.00"),
                   payments=[CardPayment(token, usd("50.00"))])  # fmt: skip


def keys(sim: SimulatedProcessor) -> list[str]:
    return [entry.key for entry in sim.ledger()]


def test_each_call_goes_to_the_account_that_issued_its_token() -> None:
    pos, web, bo = two_accounts()
    place(bo, "POS-1", "sa-pos", Channel.POS)
    place(bo, "WEB-1", "sa-web", Channel.ECOMMERCE)
    for order_id in ("POS-1", "WEB-1"):
        bo.invoice(order_id, "INV-1", usd("50.00"))
        bo.refund(order_id, "RMA-1", usd("5.00"), AGENT)
    assert keys(pos)
    assert all(key.startswith("POS-1/") for key in keys(pos))
    assert keys(web)
    assert all(key.startswith("WEB-1/") for key in keys(web))
    assert {o: bo.order(o).refunded for o in ("POS-1", "WEB-1")} == {
        "POS-1": usd("5.00"),
        "WEB-1": usd("5.00"),
    }


def test_a_token_of_an_account_no_processor_serves_is_refused_before_any_call() -> None:
    pos, web, bo = two_accounts()
    with pytest.raises(ConnectorMismatch, match="sim/sa-pos, sim/sa-web"):
        place(bo, "SO-1", "sa-other", Channel.ECOMMERCE)
    assert (keys(pos), keys(web)) == ([], [])
    router = ProcessorRouter([pos, web])
    stray = card("tok_x", service_account="sa-other")
    answer = router.authorize("K-1", stray, usd("1.00"))
    assert answer.outcome is Outcome.DECLINED
    assert "no processor serves sim/sa-other" in answer.reason


def test_recovery_asks_the_processor_that_knows_the_key() -> None:
    _, web, bo = two_accounts()
    place(bo, "WEB-1", "sa-web", Channel.ECOMMERCE)
    web.script("capture", "timeout_after_success")
    (key,) = bo.invoice("WEB-1", "INV-1", usd("50.00")).in_doubt
    assert bo.recover().resolved == (key,)
    assert bo.order("WEB-1").captured == usd("50.00")


def test_the_router_plans_only_what_every_processor_supports() -> None:
    _, _, bo = two_accounts()
    caps = bo.processor.capabilities
    assert not caps.adjustments  # the POS account has none: void and authorize again
    assert caps.serves("sim", "sa-web")
    assert caps.serves("sim", "sa-pos")
    assert not caps.serves("sim", "sa-other")


@pytest.mark.parametrize("processors", [[], "twice"])
def test_a_router_needs_processors_of_distinct_accounts(processors: object) -> None:
    clock = ManualClock(START)
    given = [SimulatedProcessor(clock=clock)] * 2 if processors == "twice" else []
    with pytest.raises(InvalidArgument):
        ProcessorRouter(given)


class _NoCapabilities(SimulatedProcessor):
    capabilities = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("one", "processors must be a list of processors, not SimulatedProcessor"),
        ("text", "processors must be a list of processors, not str"),
        ("mapping", "processors must be a list of processors, not dict"),
        ("stranger", "processors[1] must implement its port (capabilities, authorize, adjust, "
                     "capture, void, refund, unlinked_refund, tokenize, save_instrument, "
                     "instruments, lookup), not str"),
        ("no capabilities", "processors[0].capabilities must be a ProcessorCapabilities, "
                            "not None"),
    ],
)  # fmt: skip
def test_a_router_is_built_only_of_a_list_of_processors(given: str, message: str) -> None:
    """E1: a lone processor, a string, a mapping, an item that is no processor: each is
    InvalidArgument naming processors (they raised TypeError and AttributeError)."""
    clock = ManualClock(START)
    sim = SimulatedProcessor(clock=clock)
    processors: object = {
        "one": sim,
        "text": "sim",
        "mapping": {"sim": sim},
        "stranger": [sim, "x"],
        "no capabilities": [_NoCapabilities(clock=clock)],
    }[given]
    with pytest.raises(InvalidArgument) as caught:
        ProcessorRouter(processors)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert caught.value.argument.startswith("processors")


class TestRouterContract(ProcessorContract[ProcessorRouter]):
    """The router over two simulated accounts keeps the processor contract on each."""

    def make_processor(self, clock: ManualClock) -> ProcessorRouter:
        self.sims = [SimulatedProcessor(clock=clock),
                     SimulatedProcessor(clock=clock, service_account="sa-2")]  # fmt: skip
        return ProcessorRouter(self.sims)

    def ledger_of(self, processor: ProcessorRouter) -> Sequence[KeyedEntry]:
        return [entry for sim in self.sims for entry in sim.ledger()]

    def pending(self, processor: ProcessorRouter, kind: str) -> bool:
        self.sims[0].script(kind, "pending")  # the account the suite's card belongs to
        return True

    def settle(
        self, processor: ProcessorRouter, key: str, *, approve: bool
    ) -> Sequence[Notification]:
        return self.sims[0].settle_pending("approve" if approve else "decline", keys=[key])

    def lose_answer(self, processor: ProcessorRouter, kind: str) -> bool:
        self.sims[0].script(kind, "timeout_after_success")
        return True


def test_every_call_on_a_token_no_processor_serves_is_declined_locally() -> None:
    clock = ManualClock(START)
    pos = SimulatedProcessor(clock=clock, service_account="sa-pos", unlinked_refunds=False)
    router = ProcessorRouter([pos, SimulatedProcessor(clock=clock, service_account="sa-web")])
    stray_auth = AuthorizationToken("auth_x", "sim", "sa-other")
    stray_capture = CaptureToken("cap_x", "sim", "sa-other")
    stray_card = card("tok_x", service_account="sa-other")
    answers = [
        router.adjust("K-1", stray_auth, usd("1.00")),
        router.capture("K-2", stray_auth, usd("1.00")),
        router.void("K-3", stray_auth),
        router.refund("K-4", stray_capture, usd("1.00")),
        router.unlinked_refund("K-5", stray_card, usd("1.00")),
        router.unlinked_refund("K-6", card("tok_p", service_account="sa-pos"), usd("1.00")),
        router.tokenize("K-7", "C-1", "nothing-saved", "123"),
    ]
    assert [a.outcome for a in answers] == [Outcome.DECLINED] * len(answers)
    assert "takes no unlinked refunds" in answers[5].reason
    assert pos.ledger() == ()
    with pytest.raises(InvalidArgument):
        router.save_instrument("C-1", stray_card)


def test_saved_cards_are_kept_and_tokenized_by_the_account_that_holds_them() -> None:
    clock = ManualClock(START)
    web = SimulatedProcessor(clock=clock, service_account="sa-web")
    router = ProcessorRouter([SimulatedProcessor(clock=clock, service_account="sa-pos"), web])
    saved = router.save_instrument("C-1", card("tok_w", service_account="sa-web"))
    assert router.instruments("C-1") == (saved,)
    assert web.instruments("C-1") == (saved,)
    answer = router.tokenize("K-1", "C-1", saved.instrument_id, "123")
    assert answer.outcome is Outcome.APPROVED


def _saved_on_each_account(
    second: type[SimulatedProcessor] = SimulatedProcessor,
) -> tuple[SimulatedProcessor, SimulatedProcessor, BackOffice, list[SavedInstrument]]:
    """The default account's simulator and a second one behind a router, the customer
    holding a card on each (the default's saved first)."""
    clock = ManualClock(START)
    first = SimulatedProcessor(clock=clock)
    other = second(clock=clock, service_account="sa-2")
    bo = BackOffice.in_memory(processor=ProcessorRouter([first, other]), clock=clock)
    saved = [bo.save_instrument(CUSTOMER, card("tok_1"), consent=True),
             bo.save_instrument(CUSTOMER, card("tok_2", last4="4444", service_account="sa-2"),
                                consent=True)]  # fmt: skip
    return first, other, bo, saved


def test_the_saved_card_chosen_is_the_card_charged_whatever_its_account() -> None:
    """T1, I5: behind a router every saved card has an id of its own (the simulators of two
    accounts both numbered theirs PI-1, and paying with the second card charged the first,
    on the other account); the default account's first card is still PI-1."""
    first, other, bo, (visa, mastercard) = _saved_on_each_account()
    assert visa.instrument_id == "PI-1"
    assert len({i.instrument_id for i in bo.saved_instruments(CUSTOMER)}) == 2
    bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER, total=usd("10.00"),
                   payments=[SavedCardPayment(mastercard.instrument_id, cvv="123",
                                              amount=usd("10.00"))])  # fmt: skip
    bo.place_order("CC-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("10.00"))
    draft = bo.begin_completion("CC-1", AGENT)
    bo.submit(draft.add_saved_card(mastercard.instrument_id, cvv="123", amount=usd("10.00")))
    for order_id in ("SO-1", "CC-1"):
        (line,) = bo.order(order_id).lines
        assert line.authorized == usd("10.00")
        assert line.card is not None
        assert (line.card.last4, line.card.service_account) == ("4444", "sa-2")
    assert first.ledger() == ()
    assert len(other.ledger()) == 2


class _NumbersLikeTheOthers(SimulatedProcessor):
    """A processor whose instrument ids are its own numbers, as another's may be."""

    def _instrument_id(self, number: int) -> str:
        return f"PI-{number}"


def test_an_id_two_processors_hold_is_refused_and_charges_no_card() -> None:
    """T1, I5: when two processors behind a router hold an instrument with one id, paying
    with it is refused before anything is stored or called (AmbiguousInstrument), on a
    placement and on a draft, and the router declines to tokenize it."""
    first, other, bo, saved = _saved_on_each_account(_NumbersLikeTheOthers)
    assert [i.instrument_id for i in saved] == ["PI-1", "PI-1"]
    payment = SavedCardPayment("PI-1", cvv="123", amount=usd("10.00"))
    with pytest.raises(AmbiguousInstrument) as caught:
        bo.place_order("SO-1", channel=Channel.ECOMMERCE, customer=CUSTOMER,
                       total=usd("10.00"), payments=[payment])  # fmt: skip
    assert (caught.value.instrument_id, caught.value.customer_id) == ("PI-1", "C-1")
    assert str(caught.value) == (
        "customer 'C-1' has several saved instruments with the id 'PI-1' (from different "
        "processors); none is charged"
    )
    with pytest.raises(OrderNotFound):
        bo.order("SO-1")
    bo.place_order("CC-1", channel=Channel.CALL_CENTER, customer=CUSTOMER, total=usd("10.00"))
    with pytest.raises(AmbiguousInstrument):
        bo.begin_completion("CC-1", AGENT).add_saved_card("PI-1", cvv="123",
                                                          amount=usd("10.00"))  # fmt: skip
    answer = bo.processor.tokenize("K-1", "C-1", "PI-1", "123")
    assert answer.outcome is Outcome.DECLINED
    assert answer.reason == "several processors hold a saved instrument with this id"
    assert (first.ledger(), other.ledger(), first.calls, other.calls) == ((), (), 0, 0)


def test_a_lookup_no_processor_can_answer_yet_stays_unknown() -> None:
    clock = ManualClock(START)

    class Unsure(SimulatedProcessor):
        def lookup(self, key: str) -> ProcessorResult:
            return ProcessorResult(key=key, outcome=Outcome.UNKNOWN)

    router = ProcessorRouter([SimulatedProcessor(clock=clock),
                              Unsure(clock=clock, service_account="sa-2")])  # fmt: skip
    assert router.lookup("K-404").outcome is Outcome.UNKNOWN
    alone = ProcessorRouter([SimulatedProcessor(clock=clock)])
    assert alone.lookup("K-404").outcome is Outcome.NOT_RECEIVED


def test_a_notification_settles_an_unlinked_refund_under_the_paid_cards_account() -> None:
    """I5: an unlinked refund in doubt (R4), paid to a card of the second account, settled
    by the processor's notification, carries that account in its token, as recovery
    records it. (It carried the router's first account: per-account books disagreed.)"""
    _, web, bo = two_accounts()
    place(bo, "POS-1", "sa-pos", Channel.POS)
    bo.invoice("POS-1", "INV-1", usd("50.00"))
    web.script("unlinked_refund", "timeout_after_success")
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    payee = card("tok_web_9", last4="9999", service_account="sa-web")
    (key,) = bo.refund_to_card("POS-1", "RMA-1", payee, usd("30.00"), payer).in_doubt
    (entry,) = [e for e in web.ledger() if e.kind == "unlinked_refund"]
    note = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME, key=key,
                        at=START, success=True, reference=entry.reference,
                        amount=usd("30.00"))  # fmt: skip
    assert bo.handle_notification(note).applied
    (refund,) = bo.order("POS-1").other_refunds
    assert refund.token is not None
    assert (refund.token.connector, refund.token.service_account) == ("sim", "sa-web")


@pytest.mark.parametrize("decided_by", ["notification", "recovery"])
def test_an_authorization_decided_later_takes_multi_capture_from_its_own_account(
    decided_by: str,
) -> None:
    """I5, N2: behind a router whose POS account captures once per authorization, a web
    authorization in doubt decided by its notification keeps the web account's
    multi-capture, as recovery records it: a first invoice leaves the rest open there,
    and the second captures it without authorizing again. (The notification took the
    router's single capture: the rest counted as released while the web account kept it
    held, and the second invoice authorized the card again, holding the money twice.)"""
    clock = ManualClock(START)
    pos = SimulatedProcessor(clock=clock, service_account="sa-pos", multi_capture=False)
    web = SimulatedProcessor(clock=clock, service_account="sa-web")
    bo = BackOffice.in_memory(processor=ProcessorRouter([pos, web]), clock=clock)
    web.script("authorize", "timeout_after_success")
    place(bo, "WEB-1", "sa-web", Channel.ECOMMERCE)
    (op,) = bo.operations("WEB-1")
    if decided_by == "recovery":
        assert bo.recover().resolved == (op.key,)  # too soon to finish the placement
    else:
        (entry,) = [e for e in web.ledger() if e.kind == "authorize"]
        note = Notification(notification_id="N-1", event=NotificationEvent.OUTCOME,
                            key=op.key, at=START, reference=entry.reference,
                            amount=usd("50.00"))  # fmt: skip
        assert bo.handle_notification(note).applied
    clock.advance(hours=1)
    assert bo.recover().completions == ("WEB-1",)  # the placement, finished (O2)
    (auth,) = bo.order("WEB-1").lines[0].authorizations
    assert auth.multi_capture
    bo.invoice("WEB-1", "INV-1", usd("20.00"))
    assert bo.order("WEB-1").lines[0].authorizations[0].open_amount == usd("30.00")
    assert bo.invoice("WEB-1", "INV-2", usd("30.00")).uncovered == usd("0.00")
    order = bo.order("WEB-1")
    assert [a.auth_id for a in order.lines[0].authorizations] == [auth.auth_id]
    assert order.captured == usd("50.00")
    assert [e.kind for e in web.ledger()] == ["authorize", "capture", "capture"]


def test_a_reference_alone_names_no_operation_behind_a_router() -> None:
    """N2, I5: token values are each account's own (both simulators mint ``cap_2``): a
    chargeback naming only the web account's capture token, whose capture is still in
    doubt, is kept for review, never charged back from the POS order's capture."""
    _, web, bo = two_accounts()
    place(bo, "POS-1", "sa-pos", Channel.POS)
    place(bo, "WEB-1", "sa-web", Channel.ECOMMERCE)
    (taken,) = bo.invoice("POS-1", "INV-1", usd("50.00")).captures
    web.script("capture", "timeout_after_success")
    (in_doubt,) = bo.invoice("WEB-1", "INV-1", usd("50.00")).in_doubt
    assert taken.token is not None
    assert web.lookup(in_doubt).token == attrs.evolve(taken.token, service_account="sa-web")
    chargeback = Notification(notification_id="N-1", event=NotificationEvent.CHARGEBACK,
                              key="", at=START, amount=usd("50.00"),
                              reference=taken.token.value)  # fmt: skip
    assert bo.handle_notification(chargeback).unmatched
    assert bo.order("POS-1").charged_back == usd("0.00")
    assert [n.notification_id for n in bo.notifications_for_review()] == ["N-1"]


def test_a_refund_to_a_card_whose_account_takes_no_unlinked_refunds_is_refused_first() -> None:
    """R4, I5: behind a router whose web account takes unlinked refunds and whose POS
    account does not, a refund to a POS card is refused with FeatureDisabled before
    anything is stored or sent, as it is by that account's processor alone; one to a web
    card is paid. (The router's "any account takes them" let it through: it was sent,
    declined by the router, and stored on the order as a declined refund.)"""
    clock = ManualClock(START)
    pos = SimulatedProcessor(clock=clock, service_account="sa-pos", unlinked_refunds=False)
    web = SimulatedProcessor(clock=clock, service_account="sa-web")
    router = ProcessorRouter([pos, web])
    assert router.capabilities.unlinked_refunds
    assert not router.capabilities.unlinked_refunds_of("sim", "sa-pos")
    assert router.capabilities.unlinked_refunds_of("sim", "sa-web")
    bo = BackOffice.in_memory(processor=router, clock=clock)
    place(bo, "POS-1", "sa-pos", Channel.POS)
    bo.invoice("POS-1", "INV-1", usd("50.00"))
    payer = Actor.call_center("agent-2", permissions=frozenset({"alternate_payment"}))
    before = (bo.order("POS-1"), bo.operations("POS-1"), pos.ledger(), web.ledger())
    with pytest.raises(FeatureDisabled) as refused:
        bo.refund_to_card("POS-1", "RMA-1", card("tok_pos_9", service_account="sa-pos"),
                          usd("10.00"), payer)  # fmt: skip
    assert refused.value.feature == "unlinked_refunds"
    assert (bo.order("POS-1"), bo.operations("POS-1"), pos.ledger(), web.ledger()) == before
    paid = bo.refund_to_card("POS-1", "RMA-1", card("tok_web_9", service_account="sa-web"),
                             usd("10.00"), payer)  # fmt: skip
    assert [r.amount for r in paid.refunds] == [usd("10.00")]
    assert [e.kind for e in web.ledger()] == ["unlinked_refund"]
