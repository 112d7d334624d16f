"""Slash-command arguments, split and parsed as the shell would.

Invariants: the text is split with shell quoting (`shlex`), so quoted
paths and titles stay one word; an option is spelt as in the shell command
that does the same job (`-f md`, `--format md`, `--format=md`, `--force`),
may stand anywhere among the words, and `--` ends the options; an unknown
option, a missing value or a bad quote is one `UsageError` line, never a
file or a title named after the option.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

from chit.errors import UsageError

#: A word that is a (possibly negative) number is an argument, not an option.
_NUMBER = re.compile(r"-\d+")


@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]  # as the shell spells them: ("-f", "--format")
    dest: str
    metavar: str | None = None  # the value it takes; None for a flag


@dataclass
class Parsed:
    words: list[str] = field(default_factory=list)  # the arguments that are not options
    values: dict[str, str | bool] = field(default_factory=dict)

    def text(self, dest: str) -> str | None:
        value = self.values.get(dest)
        return value if isinstance(value, str) else None

    def flag(self, dest: str) -> bool:
        return self.values.get(dest) is True


def split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot parse the arguments: {exc}") from None


def parse(command: str, text: str, options: Sequence[Option]) -> Parsed:
    """The words of `text` for `/command`, options taken out."""
    by_name = {name: option for option in options for name in option.names}
    words = split(text)
    parsed = Parsed()
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word == "--":
            parsed.words.extend(words[index:])
            break
        if not word.startswith("-") or word == "-" or _NUMBER.fullmatch(word):
            parsed.words.append(word)
            continue
        name, equals, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        option = by_name.get(name)
        if option is None:
            known = ", ".join(n for o in options for n in o.names)
            raise UsageError(f"/{command} has no option {name}" + (f" (options: {known})" if known else ""))
        if option.metavar is None:
            if equals:
                raise UsageError(f"/{command}: {name} takes no value")
            parsed.values[option.dest] = True
            continue
        if not equals:
            if index >= len(words):
                raise UsageError(f"/{command}: {name} needs a value ({option.metavar})")
            inline, index = words[index], index + 1
        parsed.values[option.dest] = inline
    return parsed
