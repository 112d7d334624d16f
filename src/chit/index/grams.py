"""What the text index holds of a message, and how a query finds its words.

The text index has two levels (`chit.index.schema`, `TEXT_SCHEMA`):
- `msgtext`: each message's casefolded text, which FTS5's `ascii`
  tokenizer (in C) cuts into words: maximal runs of characters that are
  not an ASCII separator (`SEPARATORS`: every ASCII character but letters
  and digits; characters above 127 are always part of a word). So a
  message's entry is its distinct words, one term each;
- `words`: the vocabulary, every term `msgtext` holds (each once, ever),
  with a trigram index over it (`vocab`, FTS5's `trigram` tokenizer).

Invariants:
- every term of `msgtext` is a row of `words`, once its write transaction
  commits (`chit.index.rows`), except a term FTS5 cut at MAX_TERM_BYTES
  bytes: the messages holding one are listed in `cut` instead, and every
  search reads them; or the vocabulary is marked behind in that same
  transaction, and a search then takes `msgtext`'s own term list in its
  place (`chit.index.vocabulary`) until one catch-up ends the build;
- a query is cut at the same separators (`query_pieces`); a message whose
  casefolded text contains the query holds, for each piece, a word that
  contains the piece (the piece sits inside one run of non-separators).
  So the messages matching, for each piece, any vocabulary word that
  contains it, are a superset of the hits: the text index never misses
  one, it only proposes candidates for `chit.index.search` to confirm.
  A vocabulary word is found from its trigrams (a piece of three
  characters or more) or by reading the vocabulary (two characters), and
  is always confirmed to contain the piece.
"""

from __future__ import annotations

from collections.abc import Iterable

from chit.patterns import LazyPattern

MAX_TERM_BYTES = 32768  # FTS5 keeps only the first this many bytes of a longer term
MAX_GRAMS = 16  # trigrams of one piece asked of the vocabulary, at most
# every ASCII character but letters and digits: where FTS5's ascii tokenizer cuts
_SEPARATORS = LazyPattern(r"[\x00-/:-@\[-`{-\x7f]+")
# the same as bytes, each made a space (in UTF-8, every byte above 127 is part of a word)
_SEPARATOR_BYTES = bytes([*range(0x30), *range(0x3A, 0x41), *range(0x5B, 0x61), *range(0x7B, 0x80)])
_SPACED = bytes.maketrans(_SEPARATOR_BYTES, b" " * len(_SEPARATOR_BYTES))
_SEPARATOR = LazyPattern(r"[\x00-/:-@\[-`{-\x7f]")
LONG_RUN = MAX_TERM_BYTES // 4  # characters of a word whose UTF-8 may reach MAX_TERM_BYTES
PIECE = 1 << 20  # characters of a text taken at a time
SPLIT = 1 << 16  # characters split into words at a time


def folded(content: str) -> str:
    """What the text index holds of a message: its casefolded text."""
    return content.casefold()


def words_entry(pieces: Iterable[str]) -> str:
    """What the text index holds of a long text, from its pieces (cut
    anywhere): its distinct casefolded words, each once, so that neither
    the whole text nor its casefolded copy is ever held at once. The
    distinct words are casefolded, not the text: casefolding keeps every
    separator as it is and makes no separator of any other character, so
    the words of the casefolded text are the casefolded words of the text
    (a tenth of a second less for 30 MB of Cyrillic or CJK)."""
    return " ".join({word.casefold() for word in words_of(pieces)})


def words_of(pieces: Iterable[str]) -> set[str]:
    """The distinct words FTS5's ascii tokenizer finds in a text given in
    pieces (cut anywhere)."""
    words: set[bytes] = set()
    carry = b""  # a word the last piece may have cut
    for piece in pieces:
        for start in range(0, len(piece), SPLIT):  # a short list of words at a time
            # cut as bytes: half the CPU of the separators' pattern over the text
            parts = (carry + piece[start : start + SPLIT].encode("utf-8", "surrogatepass").translate(_SPACED)).split(b" ")
            carry = parts.pop()
            words.update(parts)
    words.add(carry)
    words.discard(b"")
    return {word.decode("utf-8", "surrogatepass") for word in words}


def kept_whole(word: str) -> bool:
    """Whether FTS5 keeps this term whole (it cuts one of MAX_TERM_BYTES
    bytes or more)."""
    return len(word) * 4 < MAX_TERM_BYTES or len(word.encode()) < MAX_TERM_BYTES


def may_hold_cut_word(folded_text: str) -> bool:
    """Whether a casefolded text may hold a word FTS5 cuts short: a run of
    LONG_RUN characters or more between separators (a character is at most
    4 bytes). Almost every text is ruled out by its length; a long one by
    looking at every (LONG_RUN / 2)-th character only: such a run covers
    two of them and the characters between, so it is ruled out as soon as
    a separator follows each of them closely, as one does in any prose or
    code (a few characters read per look, not the whole text)."""
    if len(folded_text) < LONG_RUN:
        return False
    step = LONG_RUN // 2
    for start in range(0, len(folded_text) - step, step):
        if _SEPARATOR.search(folded_text, start, start + step + 1) is None:
            return True  # a stretch of step + 1 characters with no separator: look at its words
    return False


def query_pieces(folded_query: str) -> list[str]:
    """The pieces of a casefolded query that the vocabulary is asked for:
    its runs between separators of two characters or more, distinct."""
    return sorted({piece for piece in _SEPARATORS.split(folded_query) if len(piece) > 1})


def trigram_match(piece: str) -> str:
    """The FTS5 query on `vocab` that every word containing `piece` (three
    characters or more) matches: some of its trigrams, all required."""
    grams = sorted({piece[i : i + 3] for i in range(len(piece) - 2)})
    if len(grams) > MAX_GRAMS:
        step = len(grams) / MAX_GRAMS
        grams = [grams[int(i * step)] for i in range(MAX_GRAMS)]
    return " AND ".join(quoted(gram) for gram in grams)


def any_of(words: Iterable[str]) -> str:
    """An FTS5 query matching any of these terms."""
    return "(" + " OR ".join(quoted(word) for word in sorted(words)) + ")"


def quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
