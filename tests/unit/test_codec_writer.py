"""The compiled writer writes what the cattrs writer wrote, whatever a field holds.

``codec_v1`` (cattrs, then ``json.dumps``) is the reference. Each case compares the
compiled writer with it: on values of the declared types, on values of other types
(the writer hands the object to the converter), on fields of types the writer leaves to
the converter, and where the reference raises, the writer raises the same error.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

import attrs
import codec_v1
import pytest

from ocop import CardToken, Money
from ocop.adapters import _writer as writer
from ocop.adapters._codec import dumps

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DOLLAR = Money.of("1.00", "USD")
CARD = CardToken(
    value="tok_card", connector="sim", service_account="sa-1", brand="visa", last4="1111"
)
T = TypeVar("T")


def outcome(write: Any, value: object) -> str | type[BaseException]:
    """The text ``write`` gives ``value``, or the class of the error it raises."""
    try:
        text: str = write(value)
    except Exception as error:  # noqa: BLE001 - the error is what is compared
        return type(error)
    return text


def same(value: object) -> str | type[BaseException]:
    """What the compiled writer gives ``value``, checked equal to what the reference gives."""
    written = outcome(dumps, value)
    assert written == outcome(codec_v1.dumps, value)
    return written


class Speed(StrEnum):
    """A string enum: written by its value."""

    SLOW = "slow"
    FAST = "fast"


class Level(IntEnum):
    """An enum of integers: left to the converter."""

    LOW = 1
    HIGH = 2


class Color(Enum):
    """An enum of strings that are not strings themselves: written by value."""

    RED = "red"
    BLUE = "blue"


@attrs.frozen
class Point:
    """A small class, written inside the writer of a class holding it."""

    x: int
    y: int
    label: str | None = None
    speed: Speed = Speed.SLOW
    color: Color = Color.RED


@attrs.frozen
class Point3(Point):
    """A point with more fields: written as a Point where a Point is declared."""

    z: int = 0


@attrs.frozen
class Segment:
    """A small class of small classes."""

    start: Point
    end: Point


@attrs.frozen
class Loose:
    """A field of each kind the writer compiles; the cases fill them with other types."""

    text: str = "t"
    count: int = 0
    flag: bool = False
    amount: Decimal = Decimal("1.50")
    at: datetime = AT
    when: datetime | None = None
    speed: Speed = Speed.SLOW
    color: Color = Color.BLUE
    money: Money = DOLLAR
    segment: Segment = Segment(Point(0, 0), Point(1, 1, "end"))
    nothing: None = None
    maybe: str | None = None
    names: tuple[str, ...] = ()
    moneys: list[Money] = attrs.Factory(list)
    points: tuple[Point | None, ...] = ()
    grid: tuple[tuple[int, ...], ...] = ()
    stamps: tuple[datetime | None, ...] = ()


ODD_VALUES: list[dict[str, Any]] = [
    {},
    {"text": 5},
    {"text": Speed.FAST},
    {"text": 'é"\\\n\u2028😀'},
    {"count": True},
    {"count": False},
    {"count": Level.HIGH},
    {"count": "7"},
    {"count": 10**30},
    {"flag": 1},
    {"flag": None},
    {"amount": 7},
    {"amount": 'x"y'},
    {"amount": Decimal("-0.000E+3")},
    {"at": None},
    {"at": datetime(2026, 3, 1, 9, 30, 0, 7)},
    {"at": AT.astimezone(timezone(timedelta(hours=-5, minutes=-30)))},
    {"at": datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris"))},
    {"when": AT},
    {"when": "2026"},
    {"speed": "fast"},
    {"speed": Level.LOW},
    {"color": Color.RED},
    {"color": "red"},
    {"color": Speed.FAST},
    {"money": None},
    {"money": Point(1, 2)},
    {"segment": Segment(Point3(1, 2, z=3), Point(3, 4))},
    {"segment": Segment(Point(1, "2"), Point(3, 4))},  # type: ignore[arg-type]
    {"nothing": 0},
    {"maybe": 3},
    {"names": ["a", "b"]},
    {"names": "ab"},
    {"names": (1, 2)},
    {"names": None},
    {"moneys": (Money.of("2.50", "EUR"),)},
    {"moneys": [None]},
    {"points": (Point(1, 2), None, Point3(3, 4, "p", z=5))},
    {"points": (Point(1, 2.5),)},  # type: ignore[arg-type]
    {"grid": ((1, 2), (), (True,))},
    {"stamps": (AT, None, AT.replace(tzinfo=None), AT)},
    {"stamps": (AT, "now")},
]


@pytest.mark.parametrize("changes", ODD_VALUES, ids=lambda changes: ",".join(changes) or "none")
def test_any_field_value_gives_the_reference_text(changes: dict[str, Any]) -> None:
    """Values of the declared types, and of others, give the reference's text or error."""
    same(attrs.evolve(Loose(), **changes))


@dataclasses.dataclass(frozen=True)
class Plain:
    """Not an attrs class: the converter tags it where a union of attrs classes is declared."""

    note: str


@attrs.frozen
class Left:
    """A member of a union."""

    left: int = 1


@attrs.frozen
class Right:
    """Another member, written with its class name."""

    right: Point = Point(0, 1)


@attrs.frozen
class Empty:
    """No fields at all."""


@attrs.frozen
class Sides:
    """Unions of attrs classes, with None and without."""

    side: Left | Right | Empty | None = None
    must: Left | Right = Left()
    many: tuple[Left | Right | None, ...] = ()
    name: str = "sides"


@pytest.mark.parametrize(
    "value",
    [
        Sides(),
        Sides(Right(), Left(), (Left(2), None, Right(Point3(1, 1)))),
        Sides(Empty()),
        Sides(Plain("x")),  # type: ignore[arg-type]
        Sides(must=None),  # type: ignore[arg-type]
        Sides(must=Plain("y")),  # type: ignore[arg-type]
        Sides(many=(Point(1, 1),)),  # type: ignore[arg-type]
        Sides(Right(), Left(), (None, Left()), name=5),  # type: ignore[arg-type]
        Empty(),
    ],
    ids=repr,
)
def test_tagged_values_give_the_reference_text(value: object) -> None:
    """Union values carry their class name, whatever class they are, and None is null."""
    same(value)


@attrs.frozen
class Noted:
    """An annotated field may change how cattrs writes the class: left to the converter."""

    note: Annotated[str, "a note"] = "x"


@attrs.frozen
class Fallbacks:
    """Fields of types the writer leaves to the converter."""

    table: dict[str, int] = attrs.Factory(lambda: {"b": 2, "a": 1})
    anything: Any = Decimal("1.5")
    pair: tuple[str, int] = ("a", 1)
    either: str | int = 0
    ratio: float = 0.5
    level: Level = Level.LOW
    kind: Literal["a", "b"] = "a"
    stamps: list[Any] = attrs.Factory(lambda: [AT, Speed.FAST, CARD])
    noted: Noted = attrs.Factory(Noted)


@attrs.frozen
class Box(Generic[T]):
    """A generic class: left to the converter."""

    item: T


@attrs.frozen
class Derived:
    """A field not set by ``__init__`` is not written."""

    base: int = 1
    twice: int = attrs.field(init=False, default=2)


@attrs.frozen
class Unresolved:
    """An annotation that names nothing: the reference fails, and so does the writer."""

    ghost: Missing  # type: ignore[name-defined]  # noqa: F821


@attrs.frozen
class Accented:
    """A field name beyond ASCII: its key is escaped as json escapes it."""

    café: str = "crème"  # noqa: PLC2401 - the case under test
    point: Point = Point(1, 2)


@attrs.frozen
class Ping:
    """Holds a Pong: two classes that hold each other."""

    pong: Pong | None = None


@attrs.frozen
class Pong:
    """Holds a Ping."""

    ping: Ping | None = None


@attrs.frozen
class Chain:
    """Not written inside the writer of its holders (it holds an array)."""

    links: tuple[int, ...] = (1, 2)


@attrs.frozen
class Chains:
    """Two fields of one class whose writer is compiled with this one's."""

    first: Chain = Chain()
    second: Chain = Chain((3,))


Bare = attrs.make_class("Bare", {"loose": attrs.field(default=Decimal("2.5"))})


@pytest.mark.parametrize(
    "value",
    [
        Fallbacks(),
        Fallbacks(table={"z": 1}, anything=Point(1, 2), either="s", ratio=float("nan")),
        Fallbacks(level=Level.HIGH, kind="b", stamps=[]),
        Noted(),
        Box(Point(1, 2)),
        Derived(),
        Unresolved(None),
        Accented(),
        Ping(Pong(Ping(Pong()))),
        Bare(),
        Chains(),
        CARD,
        [Money.of("1.00", "USD"), AT, Speed.FAST],
        {"key": Decimal("1")},
        Speed.FAST,
        None,
        "text",
        frozenset({1}),
    ],
    ids=repr,
)
def test_fields_and_values_left_to_the_converter_give_the_reference_text(value: object) -> None:
    """Types the writer does not compile are written by the converter, the same text."""
    same(value)


class Shifting(tzinfo):
    """A zone whose offset can be changed: its datetimes' texts are never kept."""

    def __init__(self) -> None:
        self.hours = 1

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=self.hours)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "shifting"


def test_a_datetime_is_written_in_its_own_zone_each_time() -> None:
    """Equal instants in other zones are written apart, and a zone's new offset is seen."""
    zone = Shifting()
    moments = [AT, AT.astimezone(timezone(timedelta(hours=2))), AT.astimezone(zone)]
    texts = [same(Loose(at=moment)) for moment in moments]
    assert len(set(texts)) == 3
    assert [same(Loose(at=moment)) for moment in moments] == texts
    zone.hours = 3
    assert same(Loose(at=moments[2])) != texts[2]


def test_the_kept_datetime_texts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its bound the writer forgets the texts it kept, and writes them again alike."""
    monkeypatch.setattr(writer, "_DATETIMES_KEPT", 2)
    moments = [AT + timedelta(seconds=n) for n in range(5)]
    first = [same(Loose(at=moment)) for moment in moments]
    assert len(writer._DATETIMES) <= 2
    assert [same(Loose(at=moment)) for moment in moments] == first


@attrs.frozen
class Typed:
    """A class whose own field is named like the tag."""

    type: str = "mine"


@attrs.frozen
class Holding:
    """A union whose member has a ``type`` field."""

    item: Typed | Left = Left()


@attrs.frozen
class Outer:
    """Holds the class that cannot be written."""

    holding: Holding = Holding()


def test_a_class_holding_an_untaggable_union_is_refused_each_time() -> None:
    """The refusal found while compiling a held class's writer leaves no writer behind."""
    for _ in range(2):
        assert same(Outer()) is TypeError
    with pytest.raises(TypeError, match="field named 'type'"):
        dumps(Outer())


@attrs.frozen
class Lonely:
    """A class first written through a writer that is not bound yet."""

    name: str = "alone"
    chain: Chain = Chain()


def test_a_writer_called_before_it_is_bound_finds_its_parts() -> None:
    """Until a compiled writer is bound to the writers it calls, they find themselves."""
    source = writer._Source()
    name = source.writer(Lonely)
    assert source.names[name](Lonely()) == codec_v1.dumps(Lonely())
