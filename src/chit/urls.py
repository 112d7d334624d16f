"""URLs as chit shows them and as it connects to them.

A URL may carry a password in its user part (`https://me:TOKEN@host/`, a
sync remote or a model's base URL). Invariants: `shown` never contains
that password (everything else of the URL is kept, so the user still
recognises it); `without_user` is the URL a request is made to, its user
part left out, as `http.client` itself connects to the host alone.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

HIDDEN = "***"


def shown(url: str) -> str:
    """`url` with the password of its user part replaced by `***`."""
    parts = _split(url)
    if parts is None or "@" not in parts.netloc:
        return url
    user, at, host = parts.netloc.rpartition("@")
    name, colon, _password = user.partition(":")
    if not colon:
        return url
    return urlunsplit(parts._replace(netloc=f"{name}:{HIDDEN}{at}{host}"))


def without_user(url: str) -> str:
    """`url` with no user part (name or password)."""
    parts = _split(url)
    if parts is None or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _split(url: str) -> SplitResult | None:
    """The parts of a URL with a scheme and a host part; None for anything
    else (a path, git's `user@host:path`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts if parts.scheme and parts.netloc else None
