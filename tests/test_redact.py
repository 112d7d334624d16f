"""chit.redact: each kind of secret is found and replaced by its marker;
nothing else changes (the real transcripts of tests/data hold no match);
adversarial input takes linear time; a session line is re-encoded only
when it held a secret.

Secrets here are built at run time from pieces, so no file of the project
holds a string a secret scanner would flag."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import orjson
import pytest

from chit.redact import KINDS, might_hold_secret, redact, redact_line

DATA = Path(__file__).parent / "data"
B62 = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY"  # 32 base62 characters, both cases and digits


def _secrets() -> dict[str, str]:
    """One made-up secret of each kind, as it appears in text."""
    b64 = B62 * 3
    return {
        "openai-key": "sk-proj-" + b64[:80] + "_-" + b64[:20],
        "anthropic-key": "sk-ant-api03-" + b64[:93] + "AA",
        "github-token": "ghp_" + B62 + "Zz12",
        "aws-access-key-id": "AKIA" + "IOSFODNN7EXAMPL3",
        "slack-token": "xoxb-" + "123456789012-1234567890123-" + B62[:24],
        "slack-webhook": "https://hooks.slack.com/services/" + "T0000AAAA/B0000BBBB/" + B62[:24],
        "google-api-key": "AIza" + "Sy" + b64[:33],
        "jwt": "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "." + "SflKxwRJSMeKKF2QT4fwpM",
    }


@pytest.mark.parametrize("kind", sorted(_secrets()))
def test_each_kind_becomes_its_marker(kind: str) -> None:
    secret = _secrets()[kind]
    text = f"before {secret} after\n(`{secret}`)"
    new, found = redact(text)
    assert new == f"before [redacted:{kind}] after\n(`[redacted:{kind}]`)"
    assert found == [(kind, 2)]


def test_older_openai_keys_and_fine_grained_github_tokens() -> None:
    legacy = "sk-" + (B62 + B62)[:48]
    pat = "github_pat_" + "11" + B62[:20] + "_" + (B62 * 2)[:59]
    new, found = redact(f"{legacy} {pat}")
    assert new == "[redacted:openai-key] [redacted:github-token]"
    assert found == [("openai-key", 1), ("github-token", 1)]


def test_labelled_values_lose_only_the_value() -> None:
    aws_secret = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
    token = "abc123def456ghi789jkl012"
    text = (
        f"aws_secret_access_key = {aws_secret}\n"
        f'"SecretAccessKey": "{aws_secret}"\n'
        f"AWS_SECRET_ACCESS_KEY={aws_secret}\n"
        f"curl -H 'Authorization: Bearer {token}' https://example.com\n"
        f'{{"authorization": "bearer {token}"}}'
    )
    new, found = redact(text)
    assert new == (
        "aws_secret_access_key = [redacted:aws-secret-key]\n"
        '"SecretAccessKey": "[redacted:aws-secret-key]"\n'
        "AWS_SECRET_ACCESS_KEY=[redacted:aws-secret-key]\n"
        "curl -H 'Authorization: Bearer [redacted:bearer-token]' https://example.com\n"
        '{"authorization": "bearer [redacted:bearer-token]"}'
    )
    assert found == [("aws-secret-key", 3), ("bearer-token", 2)]


def _pem(label: str, body: str, newline: str = "\n") -> str:
    dashes = "-" * 5
    return f"{dashes}BEGIN {label}PRIVATE KEY{dashes}{newline}{body}{newline}{dashes}END {label}PRIVATE KEY{dashes}"


def test_private_key_blocks_whole_escaped_or_cut_short() -> None:
    body = "MIIEpAIBAAKCAQEA" + B62 + "\n" + B62 + "=="
    rsa = _pem("RSA ", body)
    escaped = _pem("", body.replace("\n", "\\n"), newline="\\n")  # a key inside a JSON string shown as text
    cut = _pem("OPENSSH ", body).split("\n-----END")[0]  # `head` of a key file
    text = f"key:\n{rsa}\nafter\n\"private_key\": \"{escaped}\\n\", next\n{cut}\n{{rest}}"
    new, found = redact(text)
    assert new == "key:\n[redacted:private-key]\nafter\n\"private_key\": \"[redacted:private-key]\\n\", next\n[redacted:private-key]\n{rest}"
    assert found == [("private-key", 3)]


def test_a_bearer_jwt_counts_once_as_a_jwt() -> None:
    jwt = _secrets()["jwt"]
    assert redact(f"Authorization: Bearer {jwt}") == ("Authorization: Bearer [redacted:jwt]", [("jwt", 1)])


@pytest.mark.parametrize(
    "text",
    [
        "a risk-assessment-framework-for-small-teams, task-1234567890abcdefghij, disk-usage-report-for-every-volume",
        "sk-this-is-not-a-key-at-all-just-words",
        "ghp_short and gho_" + "a" * 36,  # too short; one case and no digit
        "AKIAIOSFODNN7EXAMPLE1 is 21 characters, XAKIAIOSFODNN7EXAMPL glued to a word",
        "Authorization: Bearer $TOKEN; Authorization: Bearer YOUR_ACCESS_TOKEN_HERE",
        "aws_secret_access_key = <your secret here>",
        _pem("", "...", "\n"),  # a placeholder, no key material
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----",
        "eyJhbGciOiJIUzI1NiJ9 alone is a header, not a token",
        "[redacted:openai-key] [redacted:jwt] [redacted:private-key]",
    ],
)
def test_what_is_not_a_secret_is_left_alone(text: str) -> None:
    new, found = redact(text)
    assert (new, found) == (text, [])
    assert new is text


def _real_texts() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.is_file() and p.name.endswith((".json", ".jsonl", ".json.gz")))


def test_real_transcripts_hold_no_match() -> None:
    """Every real transcript of tests/data, whole and line by line: nothing
    found, nothing changed."""
    paths = _real_texts()
    assert len(paths) > 10
    for path in paths:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        text = data.decode("utf-8", "replace")
        assert redact(text) == (text, []), path
        for line in data.splitlines(keepends=True):
            same, found = redact_line(line)
            assert same is line and found == [], path


ADVERSARIAL_UNITS = [
    "sk-", "sk-ant-", "eyJ", "eyJaaaaaaaaa.", "eyJaaaaaaaaa.eyJaaaaaaaaa. ",
    "-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----\nAAAA!", "-----BEGIN PRIVATE KEY----- ",
    "Authorization: ", "authorization: bearer ", "Authorization:" + " " * 200,
    "aws_secret_access_key=", "AKIA", "ghp_", "github_pat_", "xoxb-", "https://hooks.slack.com/services/", "AIza",
]


def test_ten_megabytes_of_adversarial_text_take_linear_time() -> None:
    """Runs of every pattern's beginning that never complete a match, 10 MB
    in all: a pattern that backtracked over a run, or searched to the end
    of the text from each start, would take hours; linear time is seconds."""
    share = 10_000_000 // len(ADVERSARIAL_UNITS)
    text = "".join((unit * (share // len(unit) + 1))[:share] for unit in ADVERSARIAL_UNITS)
    started = time.perf_counter()
    redact(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 60, f"{elapsed:.1f} s for 10 MB"


def test_a_line_without_a_secret_is_the_same_bytes() -> None:
    line = orjson.dumps({"type": "message", "id": "m1", "role": "user", "content": "hello", "ts": "2026-01-01T00:00:00Z"}) + b"\n"
    assert not might_hold_secret(line)
    assert redact_line(line)[0] is line
    prose = orjson.dumps({"type": "message", "content": "a task-list and a secret recipe"}) + b"\n"
    assert redact_line(prose) == (prose, [])  # triggers present, nothing matched: still the same bytes
    assert redact_line(prose)[0] is prose


def test_a_line_with_secrets_is_redacted_in_every_text_field() -> None:
    s = _secrets()
    record = {
        "type": "message", "id": "m1", "role": "tool", "ts": "2026-01-01T00:00:00Z",
        "content": f"env: OPENAI_API_KEY={s['openai-key']}",
        "metadata": {"tool_output": [f"token {s['github-token']}"], "exit": 0},
    }
    line, found = redact_line(orjson.dumps(record) + b"\n")
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert orjson.loads(line) == {
        **record,
        "content": "env: OPENAI_API_KEY=[redacted:openai-key]",
        "metadata": {"tool_output": ["token [redacted:github-token]"], "exit": 0},
    }
    assert found == [("openai-key", 1), ("github-token", 1)]


def test_a_corrupt_line_is_returned_as_it_is() -> None:
    line = b'{"type": "message", "content": "' + _secrets()["openai-key"].encode() + b'"'  # cut short
    assert redact_line(line) == (line, [])


def test_kinds_are_listed_in_a_fixed_order() -> None:
    assert len(set(KINDS)) == len(KINDS) == 11
