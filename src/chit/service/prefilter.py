"""Whether a block of whole JSON lines may hold casefolded terms, read
from its bytes without decoding them (the prefilter of
`chit.service.filescan`; docs/architecture.md, "Search while the index
catches up").

Invariants:
- `Prefilter.may_hold` says False only when no JSON string of the block,
  casefolded (`str.casefold`, chit's matcher), holds every term: skipping
  the block never drops a hit; `Prefilter.lines_holding` leaves out only
  lines none of whose strings does, and answers only for a block whose
  view is its lowered bytes (so each line's is too);
- the bytes view of a block (`Prefilter.view`) holds, for every ASCII
  character the terms use, every run of such characters the casefolded
  text holds. Why: ASCII folds by `bytes.lower`; every other character
  either folds to no ASCII character at all (its UTF-8 bytes, all past
  ASCII, then separate runs just as its folded text does) or is one of
  FOLDS_TO_ASCII (`ß` to `ss`, the Kelvin sign to `k`...), replaced by its
  folded text when it folds to one of the terms' characters; a `\\uXXXX`
  escape that may spell one of those characters is spelled out first.
  Whatever the view leaves unspelled (other escapes, other characters)
  only joins or separates runs of characters no term uses, so a term in
  the folded text is in the view (the converse may fail: a prefilter);
- a term past ASCII is first looked for by its longest ASCII run in the
  view (its folded text must hold it), and only then in the block's
  decoded and casefolded text;
- a term holding a character JSON escapes (`"`, `\\`, `/`, control
  characters) may be spelled any way: nothing is ruled out for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from chit.index.snippets import FOLDS_TO_ASCII

#: characters JSON may write as an escape: a term holding one is never prefiltered
ESCAPED = frozenset('"\\/' + "".join(map(chr, range(0x20))))
#: a surrogate pair, or one \u escape
_UNICODE_ESCAPE = re.compile(rb"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})")
#: what an escaped backslash stands for while escapes are spelled: two bytes no UTF-8 holds
_PAIR = b"\xff\xff"
#: bytes of a block per byte starting a character to replace, past which the block is searched
#: for the characters whole (each look at one costs about what a search of this many bytes does)
_DENSE = 2048


def prefilterable(term: str) -> bool:
    """Whether a prefilter can rule anything out for `term`."""
    return not any(c in ESCAPED for c in term)


def spelled(block: bytes) -> bytes:
    """`block` with its `\\uXXXX` escapes spelled out as UTF-8. An escaped
    backslash is put out of the way first (JSON reads escapes left to
    right: the "u" after one starts no escape), as two bytes that neither
    a spelled escape nor the block (checked) holds."""
    if b"\\u" not in block:
        return block
    if b"\xff" in block:  # not UTF-8: the slow way, each escaped backslash a match
        return _ESCAPE_OR_PAIR.sub(_spelled, block)
    paired = block.replace(b"\\\\", _PAIR)
    if b"\\u" not in paired:
        return block
    return _UNICODE_ESCAPE.sub(_spelled, paired).replace(_PAIR, b"\\\\")


_ESCAPE_OR_PAIR = re.compile(rb"\\\\|" + _UNICODE_ESCAPE.pattern)


def _spelled(escape: re.Match[bytes]) -> bytes:
    """A `\\uXXXX` escape (or a pair of them for one character past
    U+FFFF) as the character's UTF-8; an escaped backslash as it was."""
    high, low, single = escape.groups()
    if single is not None:
        code = int(single, 16)
    elif high is not None:
        code = 0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00
    else:
        return escape.group()
    return chr(code).encode("utf-8", "surrogatepass")


def longest_ascii_run(term: str) -> str:
    """The longest run of ASCII characters of `term` ("" when none)."""
    return max(re.split(r"[^\x00-\x7f]+", term), key=len)


class Prefilter:
    """The prefilter of a list of casefolded terms (all in one line)."""

    def __init__(self, terms: Sequence[str]) -> None:
        self.terms = list(terms)
        self.off = not all(prefilterable(term) for term in terms)
        self.wide = [term for term in terms if not term.isascii()]
        runs = [term if term.isascii() else longest_ascii_run(term) for term in terms]
        self.anchors = [run.encode() for run in runs if run]
        #: the ASCII run of the first term past ASCII: only the lines whose view holds it are casefolded
        self.wide_anchor = longest_ascii_run(self.wide[0]).encode() if self.wide else b""
        used = set("".join(runs))
        self.folds = {char.encode(): folded.encode() for char, folded in FOLDS_TO_ASCII.items() if used & set(folded)}
        leads: dict[bytes, list[bytes]] = {}
        for char in self.folds:
            leads.setdefault(char[:1], []).append(char[1:])
        self.leads = [(lead, tuple(tails)) for lead, tails in leads.items()]
        spelled_as = used | {c.upper() for c in used} | {char.decode() for char in self.folds}
        codes = sorted(f"{ord(c):04x}" for c in spelled_as)  # lowercase hex: looked for in the lowered bytes
        self.escape = re.compile(rb"\\u(?:" + "|".join(codes).encode() + rb")") if codes else None

    def may_hold(self, block: bytes) -> bool:
        """Whether some JSON string of `block` (whole lines) may hold every
        term once casefolded; False only when none can."""
        if self.off:
            return True
        lowered = block.lower()
        view: bytes | None = lowered
        if not self._anchored(lowered):
            view = self._unfolded(block, lowered)
            if view is None or not self._anchored(view):
                return False
            view = None  # not the block's bytes one for one
        if not self.wide:
            return True
        if view is None or not self.wide_anchor or self._unfolded(block, lowered) is not None:
            return self._folded_holds(block)  # the lowered bytes are not the whole view
        return any(self._folded_holds(line) for line in _lines_holding(block, view, self.wide_anchor))

    def lines_holding(self, block: bytes) -> list[bytes] | None:
        """The lines of `block` (whole lines) that may hold every term,
        each once; None when that cannot be told line by line (the block
        holds an escape or a character its view spells otherwise: ask
        `may_hold`)."""
        if self.off or not self.anchors:
            return None
        lowered = block.lower()
        if not self._anchored(lowered):
            view = self._unfolded(block, lowered)
            return [] if view is None or not self._anchored(view) else None
        if self._unfolded(block, lowered) is not None:
            return None
        longest = max(self.anchors, key=len)
        lines = _lines_holding(block, lowered, longest)
        if len(self.anchors) == 1 and not self.wide:
            return list(lines)  # each holds the one term
        return [line for line in lines if self._anchored(line.lower()) and (not self.wide or self._folded_holds(line))]

    def _folded_holds(self, block: bytes) -> bool:
        """Whether the casefolded text of `block` holds every term past ASCII."""
        block = spelled(block)
        if block.isascii():
            return False  # an ASCII text folds to ASCII: no term past it
        text = block.decode("utf-8", "replace").casefold()
        return all(term in text for term in self.wide)

    def view(self, block: bytes) -> bytes:
        """The bytes view of `block` (see the module's invariants): ASCII
        lowered, the characters of FOLDS_TO_ASCII the terms may use
        replaced by their folded text, escapes that may spell one spelled."""
        lowered = block.lower()
        view = self._unfolded(block, lowered)
        return lowered if view is None else view

    def _anchored(self, view: bytes) -> bool:
        return all(anchor in view for anchor in self.anchors)

    def _unfolded(self, block: bytes, lowered: bytes) -> bytes | None:
        """The view of `block` when it differs from its lowered bytes: it
        holds an escape that may spell a character the terms use, or a
        character to replace; else None."""
        view = self._escapes_spelled(block, lowered)
        replaced = view is not None
        view = lowered if view is None else view
        for lead, tails in self.leads:
            for tail in _present(view, lead, tails):
                view = view.replace(lead + tail, self.folds[lead + tail])
                replaced = True
        return view if replaced else None

    def _escapes_spelled(self, block: bytes, lowered: bytes) -> bytes | None:
        """`lowered` with every escape of a character the terms use spelled
        (lowered); None when it holds none. Escaped backslashes are first
        put out of the way (two bytes past ASCII: they stay apart from any
        term, as backslashes do)."""
        if self.escape is None or not self.escape.search(lowered):
            return None
        if b"\xff" in block:  # not UTF-8: every escape spelled, the slow way
            return spelled(block).lower()
        paired = lowered.replace(b"\\\\", _PAIR)
        if not self.escape.search(paired):
            return None  # each was an escaped backslash, then letters
        return self.escape.sub(_spelled_lowered, paired)


def _spelled_lowered(escape: re.Match[bytes]) -> bytes:
    """A `\\uXXXX` escape (lowercase hex, not a surrogate) as its
    character's UTF-8, lowered."""
    return chr(int(escape.group()[2:], 16)).encode().lower()


def _lines_holding(block: bytes, view: bytes, anchor: bytes) -> Iterator[bytes]:
    """The lines of `block` whose part of `view` (the same length, byte for
    byte) holds `anchor`, each once."""
    at = view.find(anchor)
    while at >= 0:
        start = view.rfind(b"\n", 0, at) + 1
        end = view.find(b"\n", at) + 1 or len(view)
        yield block[start:end]
        at = view.find(anchor, end)


def _present(block: bytes, lead: bytes, tails: tuple[bytes, ...]) -> list[bytes]:
    """Those of `tails` that follow `lead` somewhere in `block`: each
    `lead` looked at in turn (most blocks hold few or none), the rest
    searched for whole once they are many."""
    found: list[bytes] = []
    at = block.find(lead)
    seen = 0
    most = 32 + len(block) // _DENSE
    while at >= 0 and len(found) < len(tails):
        found += [tail for tail in tails if tail not in found and block.startswith(tail, at + 1)]
        seen += 1
        if seen >= most:
            return found + [tail for tail in tails if tail not in found and block.find(lead + tail, at) >= 0]
        at = block.find(lead, at + 1)
    return found
