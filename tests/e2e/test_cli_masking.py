"""T2, E2: a usage error never echoes a card number typed on the command line, however
it is typed, and shows arguments that hold none as typed.

A card number may be typed whole or in groups; joined by spaces, dashes, tabs, pasted
no-break spaces, typed escapes (``\\n``, ``\\x``); after a control character or a typed
escape; as an option's value, as the command, as arguments argparse does not know, or
over several arguments with a known option between them. The oracle reads stderr two
ways, as shown and with every escape deleted, keeps only its digits, and looks for the
card's digits in a row.
"""

from __future__ import annotations

import contextlib
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop.adapters.cli import main
from ocop.domain.cardnumbers import contains_card_number

CARDS = ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117")
#: Between two groups of the number; ARGUMENT: the next group is the next argument.
JOINS = (" ", "-", "\t", "\xa0", "\u2028", "\u2013", "\uff0d", "\\n", "\\t", "\\x", "ARGUMENT")
BEFORE = ("", "'", "=", "\\x", "\\n", "\\\\", "\\x01", "\x01", "\x85")
PLACES = ("limit", "status", "command", "unrecognized", "around an option")

#: An escape as the user typed it or as repr() wrote it, with what it stands for.
ESCAPE = re.compile(r"\\+(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)?")


def usage_error(argv: list[str]) -> str:
    """What ``ocop argv`` writes on stderr for its usage error."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.suppress(SystemExit):
        main(argv, environ={})
    return err.getvalue()


def echoes(card: str, err: str) -> bool:
    """Whether the card's digits show in a row in ``err`` read as shown or with its
    escapes deleted, whatever stands between them."""
    return any(card in re.sub(r"\D", "", text) for text in (err, ESCAPE.sub("", err)))


@st.composite
def typed_cards(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A card number and a command line that holds it, typed some way."""
    card = draw(st.sampled_from(CARDS))
    cuts = sorted(draw(st.sets(st.integers(1, len(card) - 1), max_size=4)))
    groups = [card[a:b] for a, b in zip([0, *cuts], [*cuts, len(card)], strict=True)]
    words = [draw(st.sampled_from(BEFORE)) + groups[0]]
    for group in groups[1:]:
        join = draw(st.sampled_from(JOINS))
        if join == "ARGUMENT":
            words.append(group)
        else:
            words[-1] += join + group
    place = draw(st.sampled_from(PLACES))
    whole = " ".join(words)
    argv = {
        "limit": ["orders", "--limit", whole],
        "status": ["orders", "--status", whole],
        "command": [whole],
        "unrecognized": ["orders", *words],
        "around an option": ["orders", *words[:1], "--limit", "5", *words[1:]],
    }[place]
    return card, argv


@given(typed_cards())
def test_a_usage_error_never_echoes_a_card_number_typed_any_way(
    typed: tuple[str, list[str]],
) -> None:
    card, argv = typed
    err = usage_error(argv)
    assert "error:" in err
    assert not echoes(card, err), (argv, err)


INNOCENT = st.one_of(
    st.uuids().map(str),
    st.dates().map(str),
    st.integers(0, 10**12).map(lambda n: f"SO-{n}"),
    st.decimals(0, 10**6, places=2).map(str),
    st.from_regex(r"[A-Z]{2}-[0-9]{3}-[0-9]{2}", fullmatch=True),
)


@given(st.lists(INNOCENT, min_size=1, max_size=4), st.sampled_from(PLACES))
def test_a_usage_error_shows_arguments_that_hold_no_card_number_as_typed(
    words: list[str], place: str
) -> None:
    if place == "limit" and all(word.isdecimal() for word in words):
        return  # a valid --limit: no usage error
    argv = {
        "limit": ["orders", "--limit", *words[:1], "--on-hold"],
        "status": ["orders", "--status", *words[:1]],
        "command": words[:1],
        "unrecognized": ["orders", *words],
        "around an option": ["orders", *words[:1], "--limit", "5", *words[1:]],
    }[place]
    if contains_card_number(" ".join(argv)) or contains_card_number(" ".join(words)):
        return  # a card number by chance (dates in a row, say): masked, rightly
    err = usage_error(argv)
    assert "[card number]" not in err, (argv, err)
    assert words[0] in err


MANY_ESCAPES = "\\x01411111\\x1111111111" + " \\x01" * 9  # a card, then more than 8 escapes


@pytest.mark.parametrize(
    "argv",
    [
        ["orders", "--status", MANY_ESCAPES],  # more escapes than are read every way
        ["recover", "--db", "sqlite:///x.db", "--processor", "4111\t1111\t1111\t1111:factory"],
        ["recover", "--db", "sqlite:///x.db", "--processor", "4111\xa01111\xa01111\xa01111:f"],
        ["recover", "--db", "sqlite:///x.db", "--processor", "os:4111\x001111\x001111\x001111"],
        ["show", "--db", "sqlite:///nowhere/4111\u200b1111\u200b1111\u200b1111", "SO-1"],
    ],
)
def test_no_command_line_error_echoes_a_card_number(argv: list[str]) -> None:
    """A usage error, and the errors of the commands themselves (a processor that cannot
    be imported, a database that is not there), read what was typed as usage errors do.
    (A card joined by a tab, a no-break space, a control character or a zero-width space
    was echoed by the commands' errors, and one next to many escapes by usage errors.)"""
    err = usage_error(argv)
    assert "error:" in err
    assert not echoes("4111111111111111", err), (argv, err)


def test_the_processor_variable_is_read_as_typed_too() -> None:
    """OCOP_PROCESSOR holding a card joined by tabs: its error echoes none of it."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["recover", "--db", "sqlite:///x.db"],
                      environ={"OCOP_PROCESSOR": "4111\t1111\t1111\t1111:factory"})  # fmt: skip
    assert status == 2
    assert not echoes("4111111111111111", err.getvalue()), err.getvalue()
