"""The claims part of the OrderStore contract (:meth:`~ocop.ports.store.OrderStore.claim`);
:class:`~ocop.testing.contracts.OrderStoreContract` runs it."""

from __future__ import annotations

from datetime import timedelta

from ocop.ports.store import OrderStore
from ocop.testing._processor_hooks import START

MINUTE = timedelta(minutes=1)


class ClaimsContract:
    """Claims are leases on names: a name is one holder's until its claim ends (at its
    ``until``) or is released; its holder claims it again to extend it."""

    def test_claims_free_names_in_the_order_given(self, store: OrderStore) -> None:
        """Names nobody claimed are claimed, listed once each in the order given."""
        assert store.claim(["renew:SO-2", "renew:SO-1", "renew:SO-3"], "w1", START + MINUTE,
                           START) == ("renew:SO-2", "renew:SO-1", "renew:SO-3")  # fmt: skip
        assert store.claim(["n", "n", "m"], "w1", START + MINUTE, START) == ("n", "m")
        assert store.claim([], "w1", START + MINUTE, START) == ()

    def test_another_holder_waits_for_the_claim_to_end(self, store: OrderStore) -> None:
        """A name claimed by another holder is not claimed before the claim's until, and
        is from that moment on; the rest of the names are claimed meanwhile."""
        assert store.claim(["a", "b"], "w1", START + MINUTE, START) == ("a", "b")
        almost = START + MINUTE - timedelta(microseconds=1)
        assert store.claim(["c", "a", "b"], "w2", START + 2 * MINUTE, almost) == ("c",)
        assert store.claim(["b", "a"], "w2", START + 3 * MINUTE, START + MINUTE) == ("b", "a")
        assert store.claim(["a"], "w1", START + 4 * MINUTE, START + 2 * MINUTE) == ()

    def test_the_holder_claims_again_to_extend(self, store: OrderStore) -> None:
        """A holder's claim of a name it holds is extended to the new until."""
        assert store.claim(["a"], "w1", START + MINUTE, START) == ("a",)
        assert store.claim(["a"], "w1", START + 5 * MINUTE, START + MINUTE / 2) == ("a",)
        assert store.claim(["a"], "w2", START + 6 * MINUTE, START + 2 * MINUTE) == ()
        assert store.claim(["a"], "w2", START + 6 * MINUTE, START + 5 * MINUTE) == ("a",)

    def test_a_release_frees_only_the_holders_names(self, store: OrderStore) -> None:
        """A released name is free at once; releasing another holder's name, or one never
        claimed, does nothing."""
        assert store.claim(["a", "b"], "w1", START + MINUTE, START) == ("a", "b")
        store.release(["a", "never"], "w1")
        store.release(["b"], "w2")
        store.release([], "w1")
        assert store.claim(["a", "b"], "w2", START + MINUTE, START) == ("a",)
        assert store.claim(["b"], "w1", START + MINUTE, START) == ("b",)
