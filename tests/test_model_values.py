"""chit's value types (the model's, the config's, the store layout, the
index's directory records, a search's groups) take
their equality, hash and repr from `chit.model.Value`: each must behave as
the methods `@dataclass(frozen=True)` would generate. Every type is
compared against a twin with the same fields made by `@dataclass`, on
equal and unequal values."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from chit import config, model
from chit.index import dirs
from chit.service import search_terms
from chit.store import paths

TYPES = [
    model.Tokens, model.Message, model.Parent, model.RunState, model.Project, model.LogIssue, model.Change,
    model.Session, model.SessionSummary, model.SearchHit, config.ModelSpec, config.Config, paths.Layout,
    dirs.Snapshot, dirs.DirRow, search_terms.SearchGroup,
]


def generated_twin(kind: type) -> Any:
    """A class of the same name and fields whose methods `@dataclass(frozen=True)` writes."""
    spec = [(f.name, f.type, dataclasses.field(default=None, repr=f.repr, compare=f.compare)) for f in dataclasses.fields(kind)]
    twin = dataclasses.make_dataclass(kind.__name__, spec, frozen=True)
    twin.__qualname__ = kind.__qualname__
    return twin


def values(kind: type, salt: int) -> dict[str, Any]:
    """Hashable field values, different for each salt."""
    return {f.name: (f"{f.name}-{salt}" if "str" in str(f.type) else (salt, f.name)) for f in dataclasses.fields(kind)}


@pytest.mark.parametrize("kind", TYPES, ids=lambda kind: kind.__name__)
def test_equality_hash_and_repr_are_those_dataclass_generates(kind: type) -> None:
    twin = generated_twin(kind)
    ours = [kind(**values(kind, salt)) for salt in (1, 1, 2)]
    theirs = [twin(**values(kind, salt)) for salt in (1, 1, 2)]
    assert [ours[0] == o for o in ours] == [theirs[0] == t for t in theirs] == [True, True, False]
    assert [ours[0] != o for o in ours] == [False, False, True]
    assert hash(ours[0]) == hash(ours[1]) == hash(theirs[0])
    assert [repr(o) for o in ours] == [repr(t) for t in theirs]
    assert ours[0] != theirs[0] and ours[0].__eq__(theirs[0]) is NotImplemented  # another class, as with dataclass
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours[0], dataclasses.fields(kind)[0].name, "changed")


def test_a_hidden_field_stays_out_of_the_repr() -> None:
    spec = config.ModelSpec(name="m", provider="openai", model="gpt", api_key="sk-secret")
    assert "sk-secret" not in repr(spec) and "api_key=" not in repr(spec)


def test_a_value_holding_a_dict_is_unhashable_as_a_generated_one_is() -> None:
    fields = values(model.Message, 1) | {"metadata": {"k": 1}}
    with pytest.raises(TypeError):
        hash(model.Message(**fields))
    with pytest.raises(TypeError):
        hash(generated_twin(model.Message)(**fields))
    assert dataclasses.replace(model.Message(**fields), role="user") == model.Message(**(fields | {"role": "user"}))
