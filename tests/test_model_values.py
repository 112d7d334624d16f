"""chit's value types (the model's, the config's, the store layout, the
index's directory records, a search's groups, lineage's trees and
diffs) are declared with
`chit.value.value_type`: they take their equality, hash, repr and
frozenness from `chit.value.Value` and write their own `__init__`; each
must behave as the methods `@dataclass(frozen=True)` would generate. Every
type is compared against a twin with the same fields made by
`@dataclass`, on equal and unequal values, and its `__init__` against the
twin's."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from typing import Any

import pytest

from chit import config, model
from chit.index import dirs
from chit.service import search_terms, trees
from chit.store import paths
from chit.value import Value, value_type

TYPES = [
    model.Tokens, model.Message, model.Parent, model.RunState, model.Project, model.LogIssue, model.Change,
    model.Session, model.SessionSummary, model.SearchHit, config.ModelSpec, config.Config, paths.Layout,
    dirs.Snapshot, dirs.DirRow, search_terms.SearchGroup, trees.TreeNode, trees.Tree, trees.TurnPair, trees.SessionDiff,
]


def generated_twin(kind: type, defaults: bool = False) -> Any:
    """A class of the same name and fields whose methods `@dataclass(frozen=True)`
    writes; every field defaults to None, or with `defaults` to its own default."""
    def twin_field(f: dataclasses.Field[Any]) -> Any:
        own = {"default": f.default, "default_factory": f.default_factory} if defaults else {"default": None}
        return dataclasses.field(**own, repr=f.repr, compare=f.compare)  # type: ignore[call-overload]

    spec = [(f.name, f.type, twin_field(f)) for f in dataclasses.fields(kind)]
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
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(ours[0], dataclasses.fields(kind)[0].name)
    assert vars(ours[0]) == vars(theirs[0])  # every field set, in the fields' order
    assert list(vars(ours[0])) == list(vars(theirs[0]))


def _parameters(kind: type) -> list[tuple[str, object]]:
    """`kind.__init__`'s parameters and their defaults; a default made by a
    factory is given as None (what a written `__init__` takes for it)."""
    found = []
    for parameter in list(inspect.signature(kind.__init__).parameters.values())[1:]:
        default = parameter.default
        if default is inspect.Parameter.empty:
            default = "required"
        elif type(default).__name__ == "_HAS_DEFAULT_FACTORY_CLASS":
            default = None
        found.append((parameter.name, default))
    return found


@pytest.mark.parametrize("kind", TYPES, ids=lambda kind: kind.__name__)
def test_init_takes_the_fields_in_order_with_their_defaults(kind: type) -> None:
    twin = generated_twin(kind, defaults=True)
    assert _parameters(kind) == _parameters(twin)
    given = values(kind, 1)
    required = {f.name: given[f.name] for f in dataclasses.fields(kind) if f.default is f.default_factory is dataclasses.MISSING}
    made, generated = kind(**required), twin(**required)
    assert vars(made) == vars(generated)  # the defaults, factories included, are the twin's
    for f in dataclasses.fields(kind):
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(made, f.name) is not getattr(kind(**required), f.name)  # a new one each time
    assert dataclasses.is_dataclass(made) and dataclasses.replace(made) == made


def test_declaring_the_value_types_compiles_no_method() -> None:
    """Importing the modules that declare them has `dataclasses` compile
    nothing (`@dataclass` compiles each method it generates from source
    text: about 0.35 ms a class at every start)."""
    probe = (
        "import sys\n"
        "compiled = []\n"
        "def hook(event, args):\n"
        "    if event == 'compile' and sys._getframe(1).f_code.co_filename.endswith('dataclasses.py'):\n"
        "        compiled.append(args[0])\n"
        "sys.addaudithook(hook)\n"
        "import chit.model, chit.config, chit.store.paths, chit.index.dirs, chit.service.search_terms\n"
        "print(len(compiled))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


@value_type
class _Nothing(Value):
    def __init__(self) -> None:
        pass


@value_type
class _PartlyCompared(Value):
    kept: str
    ignored: str = dataclasses.field(default="", compare=False)

    def __init__(self, kept: str, ignored: str = "") -> None:
        self.__dict__.update(kept=kept, ignored=ignored)


@pytest.mark.parametrize("kind", [_Nothing, _PartlyCompared], ids=lambda kind: kind.__name__)
def test_no_field_or_an_uncompared_one_compares_as_dataclass_does(kind: type) -> None:
    """The shapes no chit type has yet: no field at all, a field left out of
    the comparison."""
    twin = generated_twin(kind)
    named = [f.name for f in dataclasses.fields(kind)]
    ours = [kind(**{n: f"{n}-{salt}" for n in named}) for salt in (1, 2)]
    theirs = [twin(**{n: f"{n}-{salt}" for n in named}) for salt in (1, 2)]
    assert [ours[0] == o for o in ours] == [theirs[0] == t for t in theirs]
    assert [hash(o) for o in ours] == [hash(t) for t in theirs]
    if kind is _PartlyCompared:
        assert ours[0] == kind(kept="kept-1", ignored="other") and ours[0] != kind(kept="other", ignored="ignored-1")
