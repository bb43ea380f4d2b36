"""Finding card numbers in text, and masking them (rules T2, E2).

A card number is a run of 13 to 19 digits (spaces or dashes allowed between
digit groups: any white space, a tab or a no-break space as well, and any dash) that
passes the Luhn check. Digits of any script count. This
module imports nothing from the rest of ocop, so the error root can mask its
own messages with it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

#: Every dash of Unicode (the Pd category: the hyphen-minus, en and em dashes, the
#: fullwidth and small hyphen-minus, the wave dash ...) and the minus sign.
DASHES = (
    "-\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014\u2015\u2e17\u2e1a\u2e3a"
    "\u2e3b\u2e40\u2e5d\u301c\u3030\u30a0\ufe31\ufe32\ufe58\ufe63\uff0d\U00010ead\u2212"
)
#: What may join two digit groups of a card number: white space of any kind (a space,
#: a tab, a no-break space pasted with the number) and dashes of any kind.
_JOIN = f"[\\s{re.escape(DASHES)}]"
# Digit groups joined by spaces or dashes ("4111 - 1111" as well as "4111-1111").
_JOINED = re.compile(rf"\d+(?:{_JOIN}+\d+)*")
_GROUP = re.compile(r"\d+")
# Thirteen digits joined at most by spaces or dashes: no card number fits in less.
_LONG_ENOUGH = re.compile(rf"\d(?:{_JOIN}*\d){{12}}")

#: What a card number is replaced with in masked text.
CARD_MASK = "[card number]"
#: What a CVV is replaced with in a processor's words that repeat it (T2, V8).
CVV_MASK = "[security code]"


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits (of any script: ``int`` reads them) passes the Luhn check."""
    checksum = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        checksum += value
    return checksum % 10 == 0


def _glues(char: str) -> bool:
    """Whether ``char`` is a letter (any alphanumeric that is not a digit): digits
    written against it belong to a word such as a hex id, not to a card number."""
    return char.isalnum() and not char.isdecimal()


def _runs(text: str) -> Iterator[tuple[int, int]]:
    """The spans of the runs in ``text``, in order.

    A run is a sequence of digit groups joined by spaces or dashes (of any kind). A group glued
    to a letter on its outer side (the first group of the sequence on its left,
    the last on its right) joins no other group: in ``e527-3295-4391-970c`` the
    ``527`` and the ``970`` belong to hex words, and the run is ``3295-4391``. Such
    a group is a run of its own, checked whole like any unbroken digit run.
    """
    for joined in _JOINED.finditer(text):
        start, end = joined.span()
        groups = [group.span() for group in _GROUP.finditer(text, start, end)]
        if len(groups) == 1:
            yield start, end
            continue
        first, last = 0, len(groups) - 1
        if start > 0 and _glues(text[start - 1]):
            yield groups[0]
            first = 1
        glued_after = end < len(text) and _glues(text[end])
        if glued_after:
            last -= 1
        if first <= last:
            yield groups[first][0], groups[last][1]
        if glued_after:
            yield groups[-1]


def _run_holds_card(run: str) -> bool:
    groups = _GROUP.findall(run)
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                return True
    return False


def _card_runs(text: str) -> Iterator[tuple[int, int]]:
    """The spans of the runs in ``text`` that hold a card number."""
    if _LONG_ENOUGH.search(text) is None:
        return
    for start, end in _runs(text):
        if _run_holds_card(text[start:end]):
            yield start, end


@functools.lru_cache(maxsize=8192)
def contains_card_number(text: str) -> bool:
    """Whether ``text`` holds a 13-19 digit Luhn-valid run (spaces or dashes allowed).

    A run is a sequence of digit groups joined by spaces or dashes; a group glued
    to a letter on its outer side joins no other group and is a run of its own
    (see :func:`_runs`). Every stretch of consecutive groups in a run is checked,
    so a card number written next to another number is still found. An unbroken
    digit run is checked whole, wherever it stands: a 20-digit id is not a card, a
    16-digit Luhn-valid run inside a hex id is.
    """
    return next(_card_runs(text), None) is not None


def grouped(number: str) -> str:
    """``number``, the text of an amount (``"-12.50"``), as it is; or, when its digits pass
    for a card number, with its whole part in groups of three joined by commas
    (``"4,111,111,111,111,111.00"``): the same amount, that no text ocop writes about it (a
    hold's reason, an adjustment's key) has taken for card data."""
    sign = number[:1] if number[:1] in ("+", "-") else ""
    whole, point, fraction = number[len(sign) :].partition(".")
    if not (whole.isascii() and whole.isdigit()) or not contains_card_number(number):
        return number
    return f"{sign}{int(whole):,}{point}{fraction}"


def _escaped(char: str) -> str:
    """``char`` as Python writes it in a string literal: ``\\x00``, ``\\ud800``."""
    return repr(char)[1:-1]


def _without_cards(text: str) -> str:
    """``text`` with every run that holds a card number replaced by ``[card number]``."""
    pieces: list[str] = []
    done = 0
    for start, end in _card_runs(text):
        pieces += (text[done:start], CARD_MASK)
        done = end
    if not pieces:
        return text
    return "".join(pieces) + text[done:]


def mask(text: str) -> str:
    """``text`` fit for a message or a log line: every run holding a card number replaced
    by ``[card number]``, every character that is not printable (control characters, lone
    surrogates) written as its escape.

    An escape can end in digits (``\\x85``, ``\\u2028``) that run on into the digits after
    it, so escaped text is searched for card numbers once more.
    """
    text = _without_cards(text)
    if text.isprintable():
        return text
    return _without_cards("".join(char if char.isprintable() else _escaped(char) for char in text))


def quoted(value: object) -> str:
    """``value`` in quotes for a message: a string masked (:func:`mask`), anything else as
    its repr. ``repr()`` of a string would escape a control character first, and the
    escape's digits (``\\x85``) would run on into a card number after it, hiding it from
    the masking of the whole message."""
    return f"'{mask(value)}'" if isinstance(value, str) else repr(value)


def hide_cvv(text: str, cvv: str | None) -> str:
    """``text`` with ``cvv``, wherever it stands as a whole digit run, replaced by
    :data:`CVV_MASK` (a processor's words that repeat the security code it was sent)."""
    if not cvv or cvv not in text:
        return text
    return re.sub(rf"(?<![0-9]){re.escape(cvv)}(?![0-9])", CVV_MASK, text)
