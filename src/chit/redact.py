"""Redaction: secrets found in text by well-known patterns, replaced by a
marker such as `[redacted:openai-key]` (docs/redaction.md lists the
patterns and what they do not catch).

Invariants:
- only a match changes: every other character of the text is kept as it
  was, so redacting text without a secret gives back the same object;
- every pattern runs in time linear in the text: each regex starts with a
  literal, its runs are possessive (never backtracked into) or of fixed
  length, and its boundaries are checked by look-behind; PEM
  blocks are found by a scan that looks for each end marker and each
  non-PEM character at most once (`_pem`);
- memory is the text and its redacted copy: nothing else grows with the
  text but the list of matches' pieces;
- a pattern that finds a candidate whose body looks like a word rather
  than a key (no digit, or no mix of letters) leaves it alone: keys are
  random, prose is not;
- patterns run in `PATTERNS` order, so a JWT inside a bearer header is
  counted once, as a JWT; a marker never matches any pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson

from chit.model import Message, Session
from chit.store import codec

Counts = dict[str, int]


_DIGIT = re.compile(r"[0-9]")
_UPPER = re.compile(r"[A-Z]")
_LOWER = re.compile(r"[a-z]")


def _keylike(body: str) -> bool:
    """Random enough to be a key: digits, and letters of both cases (the
    keys of these services are random base62; a hyphenated word is not)."""
    return bool(_DIGIT.search(body) and _UPPER.search(body) and _LOWER.search(body))


def _has_digit_and_letter(body: str) -> bool:
    return bool(_DIGIT.search(body) and (_UPPER.search(body) or _LOWER.search(body)))


class _Pattern:
    """One kind of secret: its regexes (each starting with a literal, which
    the regex engine looks for as fast as `in` does), the literals one of
    which is in any text it matches (`might_hold_secret`), and a check of
    the matched body (the regex's `secret` group, else the whole match)."""

    def __init__(
        self, kind: str, regex: str | tuple[str, ...], triggers: tuple[str, ...], check: Callable[[str], bool] | None = None
    ) -> None:
        self.kind = kind
        # case variants of a label are separate regexes, each starting with a literal
        self.regexes = tuple(re.compile(r) for r in ((regex,) if isinstance(regex, str) else regex))
        self.triggers = triggers
        self.check = check
        self.marker = f"[redacted:{kind}]"

    def sub(self, text: str, counts: Counts) -> str:
        found = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal found
            group = "secret" if "secret" in match.re.groupindex else 0
            if self.check is not None and not self.check(match.group(group)):
                return match.group()
            found += 1
            start, end = match.span(group)
            whole, base = match.group(), match.start()
            return whole[: start - base] + self.marker + whole[end - base :]

        for regex in self.regexes:
            new = regex.sub(replace, text)
            if found:  # else `new` is an equal copy: keep the original object
                text = new
        if found:
            counts[self.kind] = counts.get(self.kind, 0) + found
        return text


_B64URL = "A-Za-z0-9_-"
_AWS_SECRET_VALUE = r"[\"']?\s*+[:=]\s*+[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
_BEARER_VALUE = r"[\"']?\s*+[:=]\s*+[\"']?\s*+(?i:bearer)\s++(?P<secret>[A-Za-z0-9._~+/=-]{16,}+)"
# A token starts where no token character is before it: `sk-` inside
# "risk-" is no key. The literal comes first so the regex engine can look
# for it quickly; the look-behind then checks the character before it.
PATTERNS: tuple[_Pattern, ...] = (
    _Pattern("jwt", rf"eyJ(?<![{_B64URL}]eyJ)[{_B64URL}]{{8,}}+\.eyJ[{_B64URL}]{{8,}}+\.[{_B64URL}]{{8,}}+", ("eyJ",)),
    _Pattern("anthropic-key", rf"sk-ant-(?<![{_B64URL}]sk-ant-)[{_B64URL}]{{20,}}+", ("sk-ant-",), _keylike),
    _Pattern("openai-key", rf"sk-(?<![{_B64URL}]sk-)[{_B64URL}]{{20,}}+", ("sk-",), _keylike),
    _Pattern(
        "github-token",
        r"(?:gh[pousr]_(?<![A-Za-z0-9_]gh._)[A-Za-z0-9]{36,}+|github_pat_(?<![A-Za-z0-9_]github_pat_)[A-Za-z0-9_]{22,}+)",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        _keylike,
    ),
    _Pattern(
        "aws-access-key-id",
        tuple(rf"{prefix}(?<![A-Za-z0-9]{prefix})[A-Z0-9]{{16}}(?![A-Za-z0-9])" for prefix in ("AKIA", "ASIA")),
        ("AKIA", "ASIA"),
    ),
    _Pattern(
        "aws-secret-key",
        (
            rf"ecret(?<=[Ss]ecret)[_-]?[Aa]ccess[_-]?[Kk]ey{_AWS_SECRET_VALUE}",
            rf"ECRET(?<=SECRET)[_-]?ACCESS[_-]?KEY{_AWS_SECRET_VALUE}",
        ),
        ("ecret", "ECRET"),
        _has_digit_and_letter,
    ),
    _Pattern("slack-webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{8,}+", ("hooks.slack.com",)),
    _Pattern("slack-token", r"xox[abposr]-(?<![A-Za-z0-9_-]xox.-)[A-Za-z0-9-]{10,}+", ("xox",), _has_digit_and_letter),
    _Pattern("google-api-key", rf"AIza(?<![{_B64URL}]AIza)[{_B64URL}]{{35}}(?![{_B64URL}])", ("AIza",)),
    _Pattern(
        "bearer-token",
        (rf"uthorization(?<=[Aa]uthorization){_BEARER_VALUE}", rf"UTHORIZATION(?<=AUTHORIZATION){_BEARER_VALUE}"),
        ("uthorization", "UTHORIZATION"),
        _has_digit_and_letter,
    ),
)
PEM_KIND = "private-key"
KINDS: tuple[str, ...] = (PEM_KIND, *(p.kind for p in PATTERNS))

_PEM_BEGIN = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 ]{0,40})PRIVATE KEY-----")
_PEM_NOT_BODY = re.compile(r"[^A-Za-z0-9+/=\s\\:,.-]")  # base64, line ends (real or escaped), header lines
_PEM_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16}")
_PEM_MARKER = f"[redacted:{PEM_KIND}]"


def _pem(text: str, counts: Counts) -> str:
    """PEM private key blocks, BEGIN line through END line. A block cut
    short (no END line before the first character that cannot be in one)
    is redacted to where its body ends."""
    if "PRIVATE KEY-----" not in text:
        return text
    pieces: list[str] = []
    kept = 0  # text[:kept] is in pieces
    found = 0
    end_at: dict[str, tuple[int, int]] = {}  # label -> (searched from, END marker found at or -1)
    bad_from, bad_at = -1, -1  # the first non-PEM character at or after bad_from is at bad_at
    run_from, run_at = -1, -1  # likewise the first run of base64 (len(text): none)
    for begin in _PEM_BEGIN.finditer(text):
        if begin.start() < kept:
            continue  # inside a block already redacted
        body_start = begin.end()
        if not bad_from <= body_start <= bad_at:
            bad = _PEM_NOT_BODY.search(text, body_start)
            bad_from, bad_at = body_start, bad.start() if bad else len(text)
        label = begin.group("label")
        end_marker = f"-----END {label}PRIVATE KEY-----"
        searched = end_at.get(label)
        if searched is None or not (searched[0] <= body_start and (searched[1] == -1 or body_start <= searched[1])):
            searched = (body_start, text.find(end_marker, body_start))
            end_at[label] = searched
        end_found = searched[1]
        if end_found != -1 and end_found <= bad_at:
            block_end = end_found + len(end_marker)
        else:  # cut short: to the end of its body
            block_end = bad_at
        if not run_from <= body_start <= run_at:
            run = _PEM_BASE64_RUN.search(text, body_start)
            run_from, run_at = body_start, run.start() if run else len(text)
        if run_at + 16 > block_end:  # no key material in it
            continue
        if block_end == bad_at:  # the white space after a block cut short is kept
            while text[block_end - 1].isspace():
                block_end -= 1
        pieces += [text[kept : begin.start()], _PEM_MARKER]
        kept = block_end
        found += 1
    if not found:
        return text
    pieces.append(text[kept:])
    counts[PEM_KIND] = counts.get(PEM_KIND, 0) + found
    return "".join(pieces)


def redact_into(text: str, counts: Counts) -> str:
    """`text` with every secret found replaced by its marker; adds what it
    replaced to `counts`. The same object when nothing was found."""
    text = _pem(text, counts)
    for pattern in PATTERNS:
        text = pattern.sub(text, counts)
    return text


def redact(text: str) -> tuple[str, list[tuple[str, int]]]:
    """`text` with every secret found replaced by its marker, and the
    (kind, count) of what was replaced, in `KINDS` order."""
    counts: Counts = {}
    return redact_into(text, counts), ordered(counts)


def ordered(counts: Counts) -> list[tuple[str, int]]:
    return [(kind, counts[kind]) for kind in KINDS if counts.get(kind)]


def redact_value(value: Any, counts: Counts) -> Any:
    """A JSON value with every string in it redacted (keys left alone):
    the same object when nothing was found."""
    if isinstance(value, str):
        return redact_into(value, counts)
    if isinstance(value, list):
        items = [redact_value(v, counts) for v in value]
        return items if any(a is not b for a, b in zip(items, value)) else value
    if isinstance(value, dict):
        fields = {k: redact_value(v, counts) for k, v in value.items()}
        return fields if any(fields[k] is not value[k] for k in value) else value
    return value


def redact_message(message: Message, counts: Counts) -> Message:
    """A message with its content and metadata redacted (the same object
    when nothing was found)."""
    content = redact_into(message.content, counts)
    metadata = redact_value(message.metadata, counts)
    if content is message.content and metadata is message.metadata:
        return message
    return replace(message, content=content, metadata=metadata)


def redact_session(session: Session, counts: Counts) -> Session:
    """A folded session with the text of its live messages, its titles,
    metadata and stored values redacted, for an export (the messages a
    rewind hid are in no export, so they are left as they are)."""
    return replace(
        session,
        title=redact_into(session.title, counts),
        manual_title=redact_into(session.manual_title, counts) if session.manual_title is not None else None,
        metadata=redact_value(session.metadata, counts),
        values=redact_value(session.values, counts),
        messages=tuple(redact_message(m, counts) for m in session.messages),
    )


_LINE_TRIGGERS: tuple[bytes, ...] = tuple(
    {t.encode() for p in PATTERNS for t in p.triggers} | {b"PRIVATE KEY-----"}
)


def might_hold_secret(data: bytes) -> bool:
    """Whether any pattern's trigger is in `data`: False means no pattern
    can match the text of any string in it (JSON writes these ASCII
    letters as they are)."""
    return any(t in data for t in _LINE_TRIGGERS)


def redact_line(line: bytes) -> tuple[bytes, list[tuple[str, int]]]:
    """One session file line (header or event) with the secrets in its
    string values redacted (message content, titles, metadata, values,
    tool output), re-encoded; the same bytes object when nothing matched,
    and when the line is not a JSON object (a corrupt line is the
    reader's to set aside, never the redactor's to rewrite)."""
    if not might_hold_secret(line):
        return line, []
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line, []
    if not isinstance(record, dict):
        return line, []
    counts: Counts = {}
    redacted = redact_value(record, counts)
    if redacted is record:
        return line, []
    return codec.encode(redacted), ordered(counts)
