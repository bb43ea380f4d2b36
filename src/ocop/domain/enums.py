"""Enumerations that refuse a value they do not know with an ocop error (rule E1)."""

from __future__ import annotations

from enum import StrEnum

from ocop.domain.errors import InvalidArgument


class Members(StrEnum):
    """A string enumeration whose lookup of an unknown value raises :class:`InvalidArgument`
    naming the members, never the value it was given (E2)."""

    @classmethod
    def _missing_(cls, value: object) -> None:
        members = ", ".join(repr(member.value) for member in cls)
        raise InvalidArgument(f"not a {cls.__name__}: one of {members}", argument=cls.__name__)
