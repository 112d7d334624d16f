"""The base of chit's value types: frozen dataclasses that compile nothing
when they are declared.

`@dataclass(frozen=True)` compiles `__init__`, `__eq__`, `__hash__`,
`__repr__`, `__setattr__` and `__delattr__` anew for every class when its
module is imported, about 0.35 ms a class, which every command pays at
start-up. A class declared with `@value_type` over `Value` is a dataclass
all the same (`dataclasses.fields`, `replace`, `asdict` work on it) but
takes those methods from `Value`, written once, and writes its own
`__init__`.

Invariants: a value type behaves as the one `@dataclass(frozen=True)`
generates: equal to an object of the same class whose compared fields are
equal, the hash of those fields, `Name(field=value, ...)` of the shown
ones, FrozenInstanceError on assigning or deleting an attribute, and an
`__init__` taking the fields in their order with their defaults (a field
with a `default_factory` takes None for "the default"); its `__init__`
sets the fields in the instance's `__dict__`, past the frozen
`__setattr__`. tests/test_model_values.py holds every value type to this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, fields
from operator import attrgetter
from typing import Any, NoReturn, TypeVar, dataclass_transform

#: a value type -> what gets the tuple of its compared fields, made at its first comparison or hash
_compared_of: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _compared_getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    names = [f.name for f in fields(cls) if f.compare]
    if len(names) == 1:  # attrgetter of one name gives the value itself, not a 1-tuple
        one = attrgetter(names[0])
        return lambda value: (one(value),)
    if not names:
        return lambda value: ()
    return attrgetter(*names)


class Value:
    """Equality, hash, repr and frozenness of a value type, written once."""

    __slots__ = ()

    def _compared(self) -> tuple[Any, ...]:
        get = _compared_of.get(self.__class__)
        if get is None:
            get = _compared_of[self.__class__] = _compared_getter(self.__class__)
        return get(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)  # type: ignore[arg-type]
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


V = TypeVar("V", bound=Value)


@dataclass_transform(frozen_default=True)  # type checkers see a frozen dataclass
def value_type(cls: type[V]) -> type[V]:
    """A dataclass of `cls` (fields, `dataclasses.replace`, `asdict`) that
    takes every method from `Value` and its own `__init__`: declaring it
    compiles nothing."""
    return dataclass(init=False, eq=False, repr=False)(cls)
