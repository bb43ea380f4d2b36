"""The PaymentJournal contract suite; import it from :mod:`ocop.testing.contracts`."""

from __future__ import annotations

import abc
import itertools
import threading
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop.domain.errors import IdempotencyConflict
from ocop.domain.journal import CUSTOMER_ACCOUNT, Voucher, VoucherKind, VoucherLine
from ocop.domain.money import Money, total
from ocop.ports.journal import PaymentJournal
from ocop.testing._processor_hooks import START, adapter_property
from ocop.testing.strategies import non_card_text, positive_money

#: Threads racing to post in the concurrency tests.
THREADS = 6

#: Text a voucher's journal name, reference or payment method may hold: ASCII, accents,
#: other scripts, punctuation and quotes, spaces inside.
_TEXT = st.sampled_from(
    ["OCOP-PAY", "Customer refunds", "Rückzahlung Kasse 3", "返品", "it's 'quoted'", "a/b:c#1"]
)


def _usd(amount: str) -> Money:
    return Money.of(amount, "USD")


@st.composite
def _split_lines(draw: st.DrawFn, amount: Money) -> tuple[VoucherLine, ...]:
    """The lines of a receipt of ``amount`` taken by two or three tenders (split tender; one
    for an amount of one minor unit)."""
    parts = draw(st.integers(min(2, amount.minor), min(3, amount.minor)))
    cuts = draw(st.sets(st.integers(1, amount.minor - 1), min_size=parts - 1,
                        max_size=parts - 1)) if parts > 1 else set()  # fmt: skip
    bounds = [0, *sorted(cuts), amount.minor]
    zero = Money.zero(amount.currency)
    debits = tuple(
        VoucherLine(
            account=f"tender:{i}", debit=Money.from_minor(high - low, amount.currency), credit=zero
        )
        for i, (low, high) in enumerate(itertools.pairwise(bounds))
    )
    return (*debits, VoucherLine(account=CUSTOMER_ACCOUNT, debit=zero, credit=amount))


@st.composite
def _vouchers(draw: st.DrawFn, order_id: str, number: int) -> Voucher:
    """A receipt, a refund or a split-tender receipt of ``order_id``, in any currency."""
    amount = draw(positive_money())
    posting: Callable[..., Voucher] = draw(st.sampled_from([Voucher.receipt, Voucher.refund]))
    voucher = posting(
        voucher_id=f"{order_id}/{draw(non_card_text())}#{number}",
        journal_name=draw(_TEXT),
        order_id=order_id,
        reference=draw(non_card_text() | _TEXT),
        method=draw(_TEXT),
        amount=amount,
        at=START + timedelta(seconds=draw(st.integers(0, 10**8))),
    )
    if voucher.kind is VoucherKind.PAYMENT and draw(st.booleans()):
        return attrs.evolve(voucher, lines=draw(_split_lines(amount)))
    return voucher


def _written(amount: Money) -> tuple[str, str]:
    """An amount as written: its digits and exponent, and its currency."""
    return str(amount.amount), amount.currency


def _exactly(voucher: Voucher) -> tuple[object, ...]:
    """Every amount of ``voucher`` as written, and its accounts, in line order."""
    lines = tuple(
        (line.account, _written(line.debit), _written(line.credit)) for line in voucher.lines
    )
    return (_written(voucher.amount), lines)


class JournalContract(abc.ABC):
    """What every :class:`~ocop.ports.journal.PaymentJournal` guarantees (J1, J3, V4): a
    posted voucher reads back equal, to the last digit of every amount; posting it again
    stores nothing and raises nothing, while another voucher under its id raises
    :class:`~ocop.domain.errors.IdempotencyConflict`; vouchers come back in the order
    they were first posted, all of them or one order's; posts racing on one voucher store
    it once. The suite of a durable journal overrides :meth:`reopen_journal`."""

    @abc.abstractmethod
    def make_journal(self) -> PaymentJournal:
        """A fresh, empty journal."""

    def reopen_journal(self) -> PaymentJournal | None:
        """The journal made last, opened again as after a restart; None (the default) for
        a journal whose vouchers live only as long as it does."""
        return None

    @pytest.fixture
    def journal(self) -> PaymentJournal:
        return self.make_journal()

    def _openings(self, journal: PaymentJournal) -> list[PaymentJournal]:
        """``journal``, and the same journal reopened where it is durable."""
        again = self.reopen_journal()
        return [journal] if again is None else [journal, again]

    # -- sample values -------------------------------------------------------------------
    def voucher(
        self, voucher_id: str, order_id: str = "SO-1", amount: str = "10.00", minute: int = 0
    ) -> Voucher:
        """A card receipt of ``amount`` USD for ``order_id``, posted ``minute`` after START."""
        return Voucher.receipt(
            voucher_id=voucher_id,
            journal_name="OCOP-PAY",
            order_id=order_id,
            reference=f"INV-{voucher_id}",
            method="card",
            amount=_usd(amount),
            at=START + timedelta(minutes=minute),
        )

    # -- posting -------------------------------------------------------------------------
    def test_a_fresh_journal_holds_no_voucher(self, journal: PaymentJournal) -> None:
        """A new journal lists no voucher, neither in all nor for an order."""
        assert journal.vouchers() == ()
        assert journal.vouchers("SO-1") == ()

    def test_a_posted_voucher_reads_back_equal(self, journal: PaymentJournal) -> None:
        """A posted receipt and refund read back equal, in all and in their order's list,
        also from the journal reopened."""
        receipt = self.voucher("SO-1/capture:INV-1#1")
        refund = Voucher.refund(
            voucher_id="SO-1/refund:RMA-1#1", journal_name="OCOP-REFUND", order_id="SO-1",
            reference="RMA-1", method="card", amount=_usd("4.99"), at=START + timedelta(days=3),
        )  # fmt: skip
        journal.post(receipt)
        journal.post(refund)
        for opening in self._openings(journal):
            assert opening.vouchers() == (receipt, refund)
            assert opening.vouchers("SO-1") == (receipt, refund)

    def test_posting_a_voucher_again_stores_nothing_new(self, journal: PaymentJournal) -> None:
        """J3: a voucher posted again, or an equal one built anew, raises nothing and keeps
        its first place; every opening of the journal sees it once."""
        one, two = self.voucher("V-1"), self.voucher("V-2", minute=1)
        journal.post(one)
        journal.post(two)
        journal.post(one)
        journal.post(self.voucher("V-1"))
        for opening in self._openings(journal):
            opening.post(one)
            opening.post(two)
        for opening in self._openings(journal):
            assert opening.vouchers() == (one, two)
            assert opening.vouchers("SO-1") == (one, two)

    @pytest.mark.parametrize(
        "field", ["amount", "order_id", "reference", "journal_name", "posted_at", "kind"]
    )
    def test_another_voucher_under_a_posted_id_conflicts(
        self, journal: PaymentJournal, field: str
    ) -> None:
        """J3: a voucher that differs in any field from the one posted under its id raises
        IdempotencyConflict naming the id, stores nothing, and the journal goes on."""
        posted = self.voucher("V-1")
        journal.post(posted)
        other = self._differing(posted)[field]
        assert other != posted
        for opening in self._openings(journal):
            with pytest.raises(IdempotencyConflict) as raised:
                opening.post(other)
            assert raised.value.key == "V-1"
        later = self.voucher("V-2", order_id="SO-2", minute=2)
        journal.post(later)
        for opening in self._openings(journal):
            assert opening.vouchers() == (posted, later)
            assert opening.vouchers("SO-1") == (posted,)
            assert opening.vouchers("SO-2") == (later,)

    def _differing(self, posted: Voucher) -> dict[str, Voucher]:
        """``posted`` with one field changed, by the field's name."""
        refund = Voucher.refund(
            voucher_id=posted.voucher_id, journal_name=posted.journal_name,
            order_id=posted.order_id, reference=posted.reference, method="card",
            amount=posted.amount, at=posted.posted_at,
        )  # fmt: skip
        return {
            "amount": self.voucher(posted.voucher_id, amount="10.01"),
            "order_id": attrs.evolve(posted, order_id="SO-2"),
            "reference": attrs.evolve(posted, reference="INV-9"),
            "journal_name": attrs.evolve(posted, journal_name="OTHER"),
            "posted_at": attrs.evolve(posted, posted_at=posted.posted_at + timedelta(seconds=1)),
            "kind": refund,
        }

    # -- reading -------------------------------------------------------------------------
    def test_vouchers_come_back_in_the_order_first_posted(self, journal: PaymentJournal) -> None:
        """All vouchers, and each order's, come back in posting order, not by id, order or
        time; an order matches exactly (SO-1 is not SO-10), and one without vouchers has
        none."""
        posts = [
            self.voucher("V-9", order_id="SO-2", minute=5),
            self.voucher("V-3", order_id="SO-1", minute=9),
            self.voucher("V-1", order_id="SO-10", minute=1),
            self.voucher("V-7", order_id="SO-1", minute=0),
            self.voucher("V-2", order_id="SO-2", minute=3),
            self.voucher("V-5", order_id="SO-1", minute=7),
        ]
        for voucher in posts:
            journal.post(voucher)
        journal.post(posts[0])
        for opening in self._openings(journal):
            assert opening.vouchers() == tuple(posts)
            assert opening.vouchers(None) == tuple(posts)
            for order_id in ("SO-1", "SO-2", "SO-10"):
                mine = tuple(v for v in posts if v.order_id == order_id)
                assert opening.vouchers(order_id) == mine
            assert opening.vouchers("SO-3") == ()
            assert opening.vouchers("so-1") == ()

    def test_vouchers_read_back_balanced_line_for_line(self, journal: PaymentJournal) -> None:
        """V4: a split-tender receipt keeps its lines, accounts and sides in order; debits
        and credits of what is read back each equal the voucher's amount."""
        zero = Money.zero("KWD")
        lines = (
            VoucherLine(account="tender:card", debit=Money.of("7.125", "KWD"), credit=zero),
            VoucherLine(account="tender:gift_card", debit=Money.of("0.005", "KWD"), credit=zero),
            VoucherLine(account=CUSTOMER_ACCOUNT, debit=zero, credit=Money.of("7.130", "KWD")),
        )
        split = Voucher(
            voucher_id="SO-1/capture:INV-1#1", journal_name="OCOP-PAY", kind=VoucherKind.PAYMENT,
            order_id="SO-1", reference="INV-1", amount=Money.of("7.130", "KWD"), lines=lines,
            posted_at=START,
        )  # fmt: skip
        journal.post(split)
        for opening in self._openings(journal):
            (kept,) = opening.vouchers("SO-1")
            assert kept == split
            assert kept.lines == lines
            assert _exactly(kept) == _exactly(split)
            debits = total([line.debit for line in kept.lines], "KWD")
            credits = total([line.credit for line in kept.lines], "KWD")
            assert debits == credits == kept.amount

    def test_amounts_and_currencies_are_kept_exactly(self) -> None:
        """Vouchers of any amount in currencies of 0, 2 and 3 decimals, receipts, refunds and
        split tenders, read back equal, every amount with its digits and currency."""
        journal = self.make_journal()
        batches = itertools.count()

        @adapter_property()
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            order_id = f"SO-P{next(batches)}"
            count = data.draw(st.integers(1, 6), label="count")
            posts = [data.draw(_vouchers(order_id, n), label=f"voucher {n}") for n in range(count)]
            for voucher in posts:
                journal.post(voucher)
            journal.post(posts[-1])
            kept = journal.vouchers(order_id)
            assert kept == tuple(posts)
            assert [_exactly(v) for v in kept] == [_exactly(v) for v in posts]

        check()

    # -- concurrency ---------------------------------------------------------------------
    def test_posts_racing_on_one_voucher_store_it_once(self, journal: PaymentJournal) -> None:
        """J3 under load: threads posting the same voucher at once all return, and the
        journal holds it once."""
        voucher = self.voucher("V-race")
        self._race(journal, [voucher] * THREADS)
        for opening in self._openings(journal):
            assert opening.vouchers() == (voucher,)

    def test_posts_racing_on_different_vouchers_store_each(self, journal: PaymentJournal) -> None:
        """Threads posting different vouchers at once each store theirs, none lost."""
        posts = [self.voucher(f"V-{n}", order_id=f"SO-{n % 2}") for n in range(THREADS)]
        self._race(journal, posts)
        for opening in self._openings(journal):
            assert sorted(v.voucher_id for v in opening.vouchers()) == sorted(
                v.voucher_id for v in posts
            )
            assert set(opening.vouchers("SO-0")) == {v for v in posts if v.order_id == "SO-0"}

    def _race(self, journal: PaymentJournal, posts: list[Voucher]) -> None:
        """Post each of ``posts`` from its own thread, all released at once; fail on any
        error a post raised."""
        start = threading.Barrier(len(posts))
        errors: list[BaseException] = []
        record = threading.Lock()

        def post(voucher: Voucher) -> None:
            start.wait()
            try:
                journal.post(voucher)
            except BaseException as error:  # noqa: BLE001 - reported below, in the test
                with record:
                    errors.append(error)

        threads = [threading.Thread(target=post, args=(voucher,)) for voucher in posts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
