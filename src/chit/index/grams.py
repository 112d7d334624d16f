"""What the text index holds of a message, and what a query asks it for.

Invariants:
- a message's text entry is the trigrams (three characters in a row) of
  its casefolded words, the words split at whitespace: no gram spans two
  words, so none of the postings that only a phrase's spaces would use
  is stored. The entry is those grams joined by spaces; FTS5's `ascii`
  tokenizer, with every ASCII punctuation character made a token
  character (`TOKENIZER`), takes each gram as one term, unless it holds
  an ASCII control character (the tokenizer splits it there into pieces
  of one or two characters, which no query asks for);
- a query asks only for grams of its own words that hold no ASCII control
  character (`query_grams`). A message whose casefolded text contains the
  query contains each query word inside one of its own words, so it holds
  every gram asked for: the text index never misses a hit, it only
  proposes candidates for `chit.index.search` to confirm.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

# every ASCII punctuation character is part of a term; whitespace and the
# other control characters separate terms (bytes above 127 are always
# part of one in the `ascii` tokenizer)
_TOKEN_CHARS = string.punctuation
_TOKENIZER_ARG = "ascii tokenchars '" + _TOKEN_CHARS.replace("'", "''") + "'"
TOKENIZER = "'" + _TOKENIZER_ARG.replace("'", "''") + "'"  # as an SQL string literal
_SEPARATORS = frozenset(chr(c) for c in range(128) if not (chr(c).isalnum() or chr(c) in _TOKEN_CHARS))
_CACHE_WORDS = 100_000  # words whose grams are kept (about 15 MB at most): words repeat across messages


class _Grams(dict[str, str]):
    """word -> its grams joined by spaces, for the words met lately; a
    lookup that finds its word costs no Python call."""

    def __missing__(self, word: str) -> str:
        if len(self) >= _CACHE_WORDS:
            self.clear()
        grams = self[word] = " ".join([word[i : i + 3] for i in range(len(word) - 2)])
        return grams


_grams_of = _Grams()


def entry(words: Iterable[str]) -> str:
    """The text entry of a message with these casefolded words (each word
    once is enough; a repeated one costs time only)."""
    return " ".join(map(_grams_of.__getitem__, words))


def query_grams(folded_query: str) -> list[str]:
    """The grams a message containing `folded_query` surely holds as terms,
    sorted; empty when the query has no word of three characters."""
    grams = {w[i : i + 3] for w in folded_query.split() for i in range(len(w) - 2)}
    return sorted(g for g in grams if _SEPARATORS.isdisjoint(g))
