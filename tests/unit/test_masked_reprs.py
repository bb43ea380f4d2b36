"""Token values never show in a repr (T2, T3): orders, lines, movements, operations, results."""

from __future__ import annotations

from ocop import Actor, Channel, Customer, Order
from worlds import by_card, card, new_world, usd

AGENT = Actor.call_center("agent-1", permissions=frozenset({"alternate_payment"}))


def _token_values(order: Order) -> set[str]:
    values: set[str] = set()
    for line in order.lines:
        if line.card is not None:
            values.add(line.card.value)
        values.update(a.token.value for a in line.authorizations)
        values.update(c.token.value for c in line.captures if c.token is not None)
        values.update(r.token.value for r in line.refunds if r.token is not None)
    return values


def test_no_token_value_appears_in_the_repr_of_anything_ocop_hands_back() -> None:
    """After a card order's life (authorize, two captures, linked and unlinked refunds), no
    token value appears in the repr of the order, its results or its operation log."""
    world = new_world()
    placed = world.bo.place_order("SO-1", channel=Channel.ECOMMERCE,
                                  customer=Customer.guest(),
                                  total=usd("100.00"), payments=[by_card("100.00")])  # fmt: skip
    results = [
        placed,
        world.bo.invoice("SO-1", "INV-1", usd("60.00")),
        world.bo.invoice("SO-1", "INV-2", usd("40.00")),
        world.bo.refund("SO-1", "RMA-1", usd("30.00"), AGENT),
        world.bo.refund_to_card("SO-1", "RMA-2", card("tok_other_card"), usd("5.00"), AGENT),
    ]
    order = world.bo.order("SO-1")
    values = _token_values(order) | {"tok_other_card"}
    assert len(values) >= 5
    with world.bo.ports.store.unit_of_work() as uow:
        operations = uow.operations.for_order("SO-1")
    shown = " ".join(repr(x) for x in (order, *results, *operations, *order.lines))
    assert [value for value in values if value in shown] == []
