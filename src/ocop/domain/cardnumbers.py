"""Finding card numbers in text, and masking them (rules T2, E2).

A card number is a run of 13 to 19 digits (spaces or dashes allowed between
digit groups) that passes the Luhn check. Digits of any script count. This
module imports nothing from the rest of ocop, so the error root can mask its
own messages with it.
"""

from __future__ import annotations

import functools
import re

# A run of digit groups joined by spaces or dashes ("4111 - 1111" as well as "4111-1111").
_RUN = re.compile(r"\d+(?:[ -]+\d+)*")
# Thirteen digits joined at most by spaces or dashes: no card number fits in less.
_LONG_ENOUGH = re.compile(r"\d(?:[ -]*\d){12}")
_GROUP_SPLIT = re.compile(r"[ -]+")

#: What a card number is replaced with in masked text.
CARD_MASK = "[card number]"


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


def _run_holds_card(run: str) -> bool:
    groups = _GROUP_SPLIT.split(run)
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                return True
    return False


@functools.lru_cache(maxsize=8192)
def contains_card_number(text: str) -> bool:
    """Whether ``text`` holds a 13-19 digit Luhn-valid run (spaces or dashes allowed).

    A run is a maximal sequence of digit groups joined by spaces or dashes. The
    whole run is checked, and so is every stretch of consecutive groups within
    it, so a card number written next to another number is still found. An
    unbroken digit run is checked whole: a 20-digit id is not a card.
    """
    if _LONG_ENOUGH.search(text) is None:
        return False
    return any(_run_holds_card(run) for run in _RUN.findall(text))


def _escaped(char: str) -> str:
    """``char`` as Python writes it in a string literal: ``\\x00``, ``\\ud800``."""
    return repr(char)[1:-1] if char not in "'\"" else char


def mask(text: str) -> str:
    """``text`` fit for a message or a log line: every run holding a card number replaced
    by ``[card number]``, every character that is not printable (control characters, lone
    surrogates) written as its escape."""
    if _LONG_ENOUGH.search(text) is not None:
        text = _RUN.sub(lambda run: CARD_MASK if _run_holds_card(run[0]) else run[0], text)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)
