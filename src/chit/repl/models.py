"""The models /model offers: those in the config, and those the
OpenAI-compatible endpoints in use list at `GET {base_url}/models`.

Invariants: an endpoint is asked with a short timeout (`TIMEOUT`, and
`COMPLETION_TIMEOUT` from Tab) and at most once per /model (completion reuses the last answer, so typing never
waits twice); a failure is one line naming the endpoint, never the API key
(nor a password in the base URL; a redirect is not sent the key),
and the other models are still offered; a model an endpoint lists is used
through that endpoint (its base URL and key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from chit.config import Config, ModelSpec
from chit.urls import shown, without_user
from chit.visible import visible

TIMEOUT = 3.0
#: Completion asks with less patience: it holds up typing while it waits.
COMPLETION_TIMEOUT = 1.0
#: An endpoint's answer is read up to this many bytes (a list of names).
MAX_BYTES = 4 * 1024 * 1024


@dataclass
class Endpoint:
    spec: ModelSpec  # the model whose base URL and key reach it
    models: list[str] = field(default_factory=list)
    problem: str | None = None


def endpoints(config: Config, current: ModelSpec | None) -> dict[str, ModelSpec]:
    """The OpenAI-compatible endpoints of the current and configured
    models, by base URL (the current model's key wins)."""
    found: dict[str, ModelSpec] = {}
    candidates = [current] + [config.resolve_model(name) for name in config.models]
    for spec in candidates:
        if spec is not None and spec.provider == "openai":
            found.setdefault(spec.base_url.rstrip("/"), spec)
    return found


def fetch(spec: ModelSpec, timeout: float = TIMEOUT) -> Endpoint:
    """What `GET {base_url}/models` lists, or the one-line reason it failed."""
    import urllib.error
    import urllib.request

    url = without_user(spec.base_url).rstrip("/") + "/models"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    key = spec.key()
    if key:
        request.add_unredirected_header("Authorization", f"Bearer {key}")  # not for where a redirect points
    where = visible(shown(spec.base_url))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read(MAX_BYTES))
    except urllib.error.HTTPError as exc:
        return Endpoint(spec, problem=f"could not list the models at {where}: HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        text = " ".join(str(reason).split()).replace(key, "***") if key else " ".join(str(reason).split())
        return Endpoint(spec, problem=f"could not list the models at {where}: {visible(text)[:200]}")
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return Endpoint(spec, problem=f"could not list the models at {where}: the answer has no list of models")
    names = sorted({item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)})
    return Endpoint(spec, models=names)


def survey(config: Config, current: ModelSpec | None, timeout: float = TIMEOUT) -> list[Endpoint]:
    return [fetch(spec, timeout) for spec in endpoints(config, current).values()]


def spec_for(name: str, config: Config, listed: list[Endpoint]) -> ModelSpec | None:
    """The model called `name`: a configured one, echo, or one an endpoint
    listed (reached through that endpoint); None if none of these."""
    if name in config.model_names():
        return config.resolve_model(name)
    for endpoint in listed:
        if name in endpoint.models:
            return replace(endpoint.spec, name=name, model=name)
    return None
