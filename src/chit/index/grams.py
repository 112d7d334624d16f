"""What the text index holds of a message, and what a query asks it for.

Invariants:
- a message's text entry is, for each of its casefolded words (split at
  whitespace), the word's trigrams (three characters in a row) and its
  last two characters (a word of one character has no term): no term
  spans two words, so none of the postings that only a phrase's spaces
  would use is stored. The entry is those
  terms joined by spaces; FTS5's `ascii` tokenizer, with every ASCII
  punctuation character made a token character (`TOKENIZER`), takes each
  as one term, unless it holds an ASCII control character (the tokenizer
  splits it there into pieces of one or two characters: a term no query
  asks for, or a candidate too many);
- a query asks, for each of its words without an ASCII control character
  (`query_terms`), for the word's trigrams, or, for a word of two
  characters, for any term that starts with it: where a message holds
  the word, it sits inside one of the message's words, either at its end
  (the last two characters) or at the start of one of its trigrams. So
  a message whose casefolded text contains the query holds every term
  asked for: the text index never misses a hit, it only proposes
  candidates for `chit.index.search` to confirm.
"""

from __future__ import annotations

from collections.abc import Iterable

# every ASCII punctuation character is part of a term; whitespace and the
# other control characters separate terms (bytes above 127 are always
# part of one in the `ascii` tokenizer). Written out rather than taken from
# `string.punctuation`: importing `string` compiles a regex every command
# would pay for at start-up.
_TOKEN_CHARS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_TOKENIZER_ARG = "ascii tokenchars '" + _TOKEN_CHARS.replace("'", "''") + "'"
TOKENIZER = "'" + _TOKENIZER_ARG.replace("'", "''") + "'"  # as an SQL string literal
_SEPARATORS = frozenset(chr(c) for c in range(128) if not (chr(c).isalnum() or chr(c) in _TOKEN_CHARS))
_CACHE_WORDS = 200_000  # words whose terms are kept (about 30 MB at most): words repeat across messages


class _Terms(dict[str, str]):
    """word -> its terms joined by spaces, for the words met lately; a
    lookup that finds its word costs no Python call."""

    def __missing__(self, word: str) -> str:
        if len(self) >= _CACHE_WORDS:
            self.clear()
        terms = self[word] = " ".join([word[i : i + 3] for i in range(len(word) - 2)] + [word[-2:]] * (len(word) > 1))
        return terms


_terms_of = _Terms()


def entry(words: Iterable[str]) -> str:
    """The text entry of a message with these casefolded words (each word
    once is enough; a repeated one costs time only)."""
    return " ".join(map(_terms_of.__getitem__, words))


def query_terms(folded_query: str) -> list[str]:
    """The FTS5 terms (quoted; `"ab"*` for any term starting with ab) that
    a message containing `folded_query` surely holds, sorted; empty when
    no word of the query has two characters or more."""
    terms = set()
    for word in folded_query.split():
        if not _SEPARATORS.isdisjoint(word):
            continue
        if len(word) == 2:
            terms.add(_quoted(word) + "*")
        terms.update(_quoted(word[i : i + 3]) for i in range(len(word) - 2))
    return sorted(terms)


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


WORDS_ABOVE = 2048  # longer texts are indexed as their set of distinct words
_PIECE = 1 << 20  # characters folded at a time in a long text


def fts_body(content: str) -> str:
    """What the text index holds of a message: the terms of its casefolded
    words ."""
    if len(content) <= WORDS_ABOVE:
        return entry(set(content.casefold().split()))
    return fts_words(content[start : start + _PIECE] for start in range(0, len(content), _PIECE))


def fts_words(pieces: Iterable[str]) -> str:
    """`fts_body` of a long text, from its pieces (cut anywhere)."""
    return entry(distinct_words(pieces))


def distinct_words(pieces: Iterable[str]) -> set[str]:
    """A long text's distinct casefolded words, from its pieces (cut
    anywhere): never the whole text folded and split at once."""
    words: set[str] = set()
    carry = ""  # a word the last piece may have cut
    for piece in pieces:
        text = carry + piece
        cut = len(text)
        while cut > 0 and not text[cut - 1].isspace():
            cut -= 1
        words.update(text[:cut].casefold().split())
        carry = text[cut:]
    words.update(carry.casefold().split())
    return words
