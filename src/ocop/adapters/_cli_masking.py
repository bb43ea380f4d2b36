"""How the ``ocop`` command line keeps card numbers out of what it prints (T2).

argparse quotes what was typed in its usage errors, and a command's error may hold what
was typed or read from the environment. Before either is printed, it is read with what
was typed: when a card number shows there, typed with escapes, control characters or
over several arguments, every number in the message is masked.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from ocop.domain.cardnumbers import CARD_MASK, contains_card_number, mask

__all__ = ["masked", "masked_usage", "runs_of"]


#: A character argparse wrote as its escape (it quotes with repr()): a backslash that
#: is not itself escaped (a backslash typed is written as two, then its own text).
_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def masked_usage(message: str, given: Sequence[str]) -> str:
    """argparse's usage error ``message`` as it may be shown, ``given`` the arguments typed.
    argparse quotes with ``repr()``, whose escapes end in digits that would run on into a
    card number after them (``\\x014111...``): each escape is shown as ``\\?`` before
    masking."""
    return masked(mask(_ESCAPE.sub(r"\1\\?", message)), [message, *runs_of(given)])


#: A typed escape, read as what it stands for: a backslash and its letter with the
#: escape's digits (``\\x01``, ``\\u2028``), or any one character after it.
_WHOLE_ESCAPE = re.compile(
    r"\\+(?:x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|N\{[^}]*\}|.)?"
)

#: A typed escape read as text: a backslash and the letter after it (``\\x4111``: the
#: digits are the user's).
_ESCAPE_LETTER = re.compile(r"\\+[A-Za-z]?")

#: Digits, maybe in groups joined by spaces or dashes: what a card number may be typed as.
_NUMBER = re.compile(r"\d(?:[ -]?\d)*")

#: How many arguments in a row a card number may be typed over (19 digits, one by one).
_MOST_WORDS = 19


def runs_of(given: Sequence[str]) -> list[str]:
    """The arguments, and runs of them joined by spaces as argparse joins them."""
    return [
        " ".join(given[first:last])
        for first in range(len(given))
        for last in range(first + 1, min(len(given), first + _MOST_WORDS) + 1)
    ]


def masked(shown: str, sources: Sequence[str]) -> str:
    """``shown`` with every number masked when a card number shows in one of ``sources``
    (what was typed, and the message it was quoted in) read as :func:`_hides_card` reads
    them. ``shown`` itself is not read so: the escapes masking wrote in it are not the
    user's."""
    return _NUMBER.sub(CARD_MASK, shown) if _hides_card(sources) else shown


def _hides_card(texts: Sequence[str]) -> bool:
    """Whether a card number shows in one of ``texts`` once each typed escape is read as
    a space, with or without the digits that follow its letter (each escape either way:
    where an escape's digits end and the number's begin cannot be told), and every
    character that is not printable as a space too. A text with too many escapes to read
    every way is taken to hide one when it holds 13 digits or more."""
    for text in texts:
        readings = _readings(text)
        if readings is None:
            if sum(char.isdecimal() for char in text) >= 13:
                return True
        elif any(contains_card_number(reading) for reading in readings):
            return True
    return False


#: Past this many escapes with digits in one text, it is not read every way.
_MOST_ESCAPES = 8


def _readings(text: str) -> list[str] | None:
    """``text`` with its escapes read each way, and what is not printable as spaces
    (None: too many escapes with digits). Only an escape with digits after its letter
    can be read two ways; any other is a space."""
    text = "".join(char if char.isprintable() else " " for char in text)
    escapes = list(_WHOLE_ESCAPE.finditer(text))
    kept = [_ESCAPE_LETTER.sub("", escape.group()) for escape in escapes]
    ways = [(" ", " " + k) if any(c.isdecimal() for c in k) else (" ",) for k in kept]
    if sum(len(way) > 1 for way in ways) > _MOST_ESCAPES:
        return None
    readings = []
    for chosen in itertools.product(*ways):
        pieces, done = [], 0
        for escape, replacement in zip(escapes, chosen, strict=True):
            pieces += [text[done : escape.start()], replacement]
            done = escape.end()
        readings.append("".join([*pieces, text[done:]]))
    return readings
