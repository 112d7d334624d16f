"""Configuration: `config.toml` in the config dir, then the environment.

Invariants: reading never fails the program — a missing file means
defaults, a broken one is reported once as a `ConfigProblem` and ignored;
API keys are read from the environment (or the file) only when a request
is made and are never printed, logged or stored in a session; `describe()`
masks them.

File layout (all optional):

    [defaults]
    limit = 50          # `chit ls` rows
    pager = true        # page long transcripts on a terminal
    color = "auto"      # auto | always | never
    model = "local"     # a name from [models], or "echo"
    timeout = 60        # seconds a model's server may stay silent
    deadline = 600      # seconds a whole reply may take (CHIT_DEADLINE wins)

    [models.local]
    provider = "openai"                       # openai | command | echo
    base_url = "http://localhost:11434/v1"
    model = "llama3.2"
    api_key_env = "OPENAI_API_KEY"            # where the key comes from
    timeout = 60                              # per model, over [defaults]
    deadline = 600

    [models.mine]
    provider = "command"
    command = ["my-llm", "--json"]            # argument list, no shell

    [sources]                                 # what `chit import` refreshes (chit.sources)
    refresh = 300                             # ls/search refresh first after this many seconds
    claude-code = true                        # true: the tool's default path; or a path, or a list
    [sync]                                    # `chit sync` (docs/sync.md)
    auto = true                               # sync after a REPL session and before resume
    timeout = 5                               # never wait longer than this for it
    redact = true                             # secrets replaced by markers in what is sent
    [index]
    background = true                         # a search that finds the index far behind starts `chit index` in the background
    [prices]                                  # `chit stats` cost, per million tokens
    "gpt-4o" = { input = 2.5, output = 10.0 } # keyed by the model name messages record
"""

from __future__ import annotations

import errno
import os
from dataclasses import field
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any

from chit.urls import shown
from chit.value import Value, value_type
from chit.store.paths import check_home, default_config_dir

PROVIDERS = ("openai", "command", "echo")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEYED_HOST = "api.openai.com"  # refuses every request without a key
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
ECHO = "echo"
DEFAULT_TIMEOUT = 60.0
DEFAULT_DEADLINE = 600.0
#: The largest config file read (a real one is a few hundred bytes).
MAX_CONFIG = 2**20
DEFAULT_SYNC_TIMEOUT = 5.0
#: the tools of [sources], as chit.importers.NAMES (a test keeps them equal)
SOURCE_TOOLS = ("claude-code", "codex", "chatgpt", "llm", "gemini", "opencode")
#: paths of one tool in [sources]; None stands for the tool's default path
Paths = tuple[str | None, ...]


@value_type
class ModelSpec(Value):
    """A resolved model: which provider, which model, how to reach it."""

    name: str
    provider: str
    model: str
    base_url: str = DEFAULT_BASE_URL
    api_key_env: str = "OPENAI_API_KEY"
    api_key: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT  # seconds without a byte (connect, each read)
    deadline: float = DEFAULT_DEADLINE  # seconds for the whole request, first byte sent to last read
    command: tuple[str, ...] = ()
    shell: bool = False

    def __init__(
        self, name: str, provider: str, model: str, base_url: str = DEFAULT_BASE_URL, api_key_env: str = "OPENAI_API_KEY",
        api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE,
        command: tuple[str, ...] = (), shell: bool = False,
    ) -> None:
        self.__dict__.update(
            name=name, provider=provider, model=model, base_url=base_url, api_key_env=api_key_env, api_key=api_key,
            timeout=timeout, deadline=deadline, command=command, shell=shell,
        )

    @property
    def label(self) -> str:
        if self.provider == ECHO:
            return "echo (offline test model)"
        return self.name if self.name == self.model else f"{self.name} ({self.model})"

    def key(self) -> str | None:
        """The API key, looked up only now (never stored elsewhere)."""
        return self.api_key or os.environ.get("CHIT_API_KEY") or os.environ.get(self.api_key_env) or None

    def missing_key(self) -> str | None:
        """Why this model cannot be asked without a key, or None. Only
        OpenAI's own endpoint is known to need one; a local server (Ollama,
        llama.cpp) or another endpoint is asked without, and answers 401
        if it wanted one."""
        if self.provider != "openai" or self.key() or urlsplit(self.base_url).hostname != KEYED_HOST:
            return None
        return f"no API key: set {self.api_key_env} or `api_key` in [models.{self.name}] of config.toml"


@value_type
class Config(Value):
    """The settings of config.toml, defaults where it is silent; `problems`: what was wrong in it."""

    path: Path
    limit: int = 50
    pager: bool = True
    color: str = "auto"
    default_model: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    models: dict[str, ModelSpec] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    #: tool -> the paths `chit import` refreshes (None: the tool's default); see chit.sources
    sources: dict[str, Paths] = field(default_factory=dict)
    #: seconds after which ls and search refresh the sources first (None: never)
    refresh: float | None = None
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)  # model -> (input, output) per million tokens
    #: [sync] auto: run `chit sync` after a REPL session ends and before `chit resume`
    sync_auto: bool = False
    #: [sync] timeout: the longest an automatic sync holds the user up (it goes on in the background)
    sync_timeout: float = DEFAULT_SYNC_TIMEOUT
    #: [sync] redact: secrets replaced by markers in what a sync sends
    sync_redact: bool = False
    #: [index] background: a search that finds the index far behind starts a catch-up in the background
    index_background: bool = True

    def __init__(
        self, path: Path, limit: int = 50, pager: bool = True, color: str = "auto", default_model: str | None = None,
        timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE, models: dict[str, ModelSpec] | None = None,
        problems: tuple[str, ...] = (), sources: dict[str, Paths] | None = None, refresh: float | None = None,
        prices: dict[str, tuple[float, float]] | None = None, sync_auto: bool = False,
        sync_timeout: float = DEFAULT_SYNC_TIMEOUT, sync_redact: bool = False, index_background: bool = True,
    ) -> None:
        self.__dict__.update(
            path=path, limit=limit, pager=pager, color=color, default_model=default_model, timeout=timeout,
            deadline=deadline, models={} if models is None else models, problems=problems,
            sources={} if sources is None else sources, refresh=refresh, prices={} if prices is None else prices,
            sync_auto=sync_auto, sync_timeout=sync_timeout, sync_redact=sync_redact, index_background=index_background,
        )

    def model_names(self) -> list[str]:
        return sorted({*self.models, ECHO})

    def resolve_model(self, name: str | None = None) -> ModelSpec | None:
        """The model called `name`, else CHIT_MODEL, else the default;
        None when nothing is configured at all."""
        chosen = name or os.environ.get("CHIT_MODEL") or self.default_model
        if chosen is None and (os.environ.get("OPENAI_API_KEY") or os.environ.get("CHIT_API_KEY")):
            chosen = DEFAULT_OPENAI_MODEL
        if chosen is None:
            return None
        if chosen in self.models:
            return _with_env(self.models[chosen])
        if chosen == ECHO:
            return ModelSpec(name=ECHO, provider=ECHO, model=ECHO)
        # a bare model name: the OpenAI-compatible endpoint from the environment
        provider = os.environ.get("CHIT_PROVIDER", "openai")
        return _with_env(ModelSpec(name=chosen, provider=provider, model=chosen, timeout=self.timeout, deadline=self.deadline))


def _with_env(spec: ModelSpec) -> ModelSpec:
    from dataclasses import replace

    base = os.environ.get("CHIT_BASE_URL") or (os.environ.get("OPENAI_BASE_URL") if spec.base_url == DEFAULT_BASE_URL else None)
    if base and spec.provider == "openai":
        spec = replace(spec, base_url=base)
    deadline = _positive(os.environ.get("CHIT_DEADLINE"))
    return replace(spec, deadline=deadline) if deadline is not None else spec


def _positive(text: str | None) -> float | None:
    """A number of seconds from the environment; anything else is ignored."""
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and 0 < value < float("inf") else None


def config_path() -> Path:
    return default_config_dir() / "config.toml"


def load(path: Path | None = None) -> Config:
    target = path or config_path()
    try:
        raw = read_config_file(target)
    except FileNotFoundError:
        return Config(path=target)
    except OSError as exc:
        if path is None and isinstance(exc, NotADirectoryError):
            check_home(target.parent)  # CHIT_HOME is a file: refused as the store refuses it
        return Config(path=target, problems=(f"cannot read {target}: {exc.strerror}; using defaults",))
    import tomllib  # only when there is a file to parse: start-up time

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Config(path=target, problems=(f"{target} is not valid TOML ({exc}); using defaults",))
    except RecursionError:  # arrays or inline tables nested thousands deep: tomllib recurses
        return Config(path=target, problems=(f"{target} is not valid TOML (nested too deeply); using defaults",))
    return _parse(target, data)


def read_config_file(target: Path) -> bytes:
    """The config file's bytes: a regular file (a FIFO there is never
    waited on, /dev/zero never read) of at most MAX_CONFIG bytes."""
    from chit.store.files import read_regular

    raw = read_regular(target, MAX_CONFIG + 1, follow_links=True)
    if len(raw) > MAX_CONFIG:
        raise OSError(errno.EFBIG, f"larger than {MAX_CONFIG // 2**20} MiB", str(target))
    return raw


def _parse(path: Path, data: dict[str, Any]) -> Config:
    problems: list[str] = []
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        problems.append("[defaults] must be a table")
        defaults = {}

    def pick(name: str, kind: type, fallback: Any) -> Any:
        value = defaults.get(name, fallback)
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            problems.append(f"defaults.{name} must be {kind.__name__}")
            return fallback
        return value

    limit = pick("limit", int, 50)
    timeout = _seconds(defaults, "timeout", DEFAULT_TIMEOUT, "defaults", problems)
    deadline = _seconds(defaults, "deadline", DEFAULT_DEADLINE, "defaults", problems)
    color = pick("color", str, "auto")
    if color not in ("auto", "always", "never"):
        problems.append("defaults.color must be auto, always or never")
        color = "auto"
    models: dict[str, ModelSpec] = {}
    table = data.get("models", {})
    for name, spec in (table.items() if isinstance(table, dict) else []):
        parsed = _model(name, spec, problems, timeout, deadline)
        if parsed is not None:
            models[name] = parsed
    default_model = defaults.get("model")
    enabled, refresh = _sources(data.get("sources"), problems)
    prices = _prices(data.get("prices", {}), problems)
    sync_auto, sync_timeout, sync_redact = _sync(data.get("sync", {}), problems)
    index_background = _index(data.get("index", {}), problems)
    return Config(
        path=path,
        limit=max(0, limit),
        pager=pick("pager", bool, True),
        color=color,
        default_model=default_model if isinstance(default_model, str) else None,
        timeout=timeout,
        deadline=deadline,
        models=models,
        problems=tuple(problems),
        sources=enabled,
        refresh=refresh,
        prices=prices,
        sync_auto=sync_auto,
        sync_timeout=sync_timeout,
        sync_redact=sync_redact,
        index_background=index_background,
    )


def _index(table: Any, problems: list[str]) -> bool:
    """[index]: `background` (a boolean)."""
    value = table.get("background", True) if isinstance(table, dict) else None
    if not isinstance(value, bool):
        problems.append("[index] must be a table" if not isinstance(table, dict) else "index.background must be true or false")
        return True
    return value


def _sync(table: Any, problems: list[str]) -> tuple[bool, float, bool]:
    """[sync]: `auto` and `redact` (booleans) and `timeout` (seconds)."""
    if not isinstance(table, dict):
        problems.append("[sync] must be a table")
        return False, DEFAULT_SYNC_TIMEOUT, False
    flags = []
    for name in ("auto", "redact"):
        value = table.get(name, False)
        if not isinstance(value, bool):
            problems.append(f"sync.{name} must be true or false")
            value = False
        flags.append(value)
    return flags[0], _seconds(table, "timeout", DEFAULT_SYNC_TIMEOUT, "sync", problems), flags[1]


def _prices(table: Any, problems: list[str]) -> dict[str, tuple[float, float]]:
    """[prices]: model name -> (input, output) per million tokens; a bad entry is reported and left out."""
    if not isinstance(table, dict):
        problems.append("[prices] must be a table")
        return {}
    prices = {}
    for name, entry in table.items():
        pair = [entry.get(k) if isinstance(entry, dict) else None for k in ("input", "output")]
        numbers = [float(v) for v in pair if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf")]
        if len(numbers) == 2:
            prices[name] = (numbers[0], numbers[1])
        else:
            problems.append(f"prices.{name} must be a table with numbers input and output (per million tokens)")
    return prices


def _seconds(table: dict[str, Any], key: str, fallback: float, where: str, problems: list[str]) -> float:
    value = table.get(key, fallback)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        problems.append(f"{where}.{key} must be a positive number of seconds")
        return fallback
    return float(value)


def _model(name: str, spec: Any, problems: list[str], timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE) -> ModelSpec | None:
    if not isinstance(spec, dict):
        problems.append(f"[models.{name}] must be a table")
        return None
    provider = spec.get("provider", "openai")
    if provider not in PROVIDERS:
        problems.append(f"models.{name}.provider must be one of {', '.join(PROVIDERS)}")
        return None
    command = spec.get("command", [])
    if provider == "command" and (not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command)):
        problems.append(f"models.{name}.command must be a non-empty list of strings")
        return None
    return ModelSpec(
        name=name,
        provider=provider,
        model=str(spec.get("model", name)),
        base_url=str(spec.get("base_url", DEFAULT_BASE_URL)).rstrip("/"),
        api_key_env=str(spec.get("api_key_env", "OPENAI_API_KEY")),
        api_key=spec["api_key"] if isinstance(spec.get("api_key"), str) else None,
        timeout=_seconds(spec, "timeout", timeout, f"models.{name}", problems),
        deadline=_seconds(spec, "deadline", deadline, f"models.{name}", problems),
        command=tuple(command) if provider == "command" else (),
        shell=spec.get("shell") is True,
    )


def _sources(table: Any, problems: list[str]) -> tuple[dict[str, Paths], float | None]:
    """The enabled sources and the refresh interval (None: off) of a
    `[sources]` table; what is wrong becomes a problem and is ignored."""
    if table is None:
        return {}, None
    if not isinstance(table, dict):
        problems.append("[sources] must be a table")
        return {}, None
    enabled: dict[str, Paths] = {}
    for tool, value in table.items():
        if tool == "refresh":
            continue
        if tool not in SOURCE_TOOLS:
            problems.append(f"sources.{tool}: unknown tool (expected one of: {', '.join(SOURCE_TOOLS)})")
            continue
        paths = source_paths(value)
        if paths is None:
            problems.append(f"sources.{tool} must be true, false, a path or a list of paths")
        elif paths:
            enabled[tool] = paths
    return enabled, _interval(table.get("refresh", 0), problems)


def source_paths(value: Any) -> Paths | None:
    """The paths of one [sources] entry (None: a value it cannot be)."""
    if value is True:
        return (None,)
    if value is False:
        return ()
    if isinstance(value, str) and value:
        return (value,)
    if isinstance(value, list) and value and all((isinstance(v, str) and v) or v is True for v in value):
        return tuple(dict.fromkeys(None if v is True else v for v in value))
    return None


def _interval(value: Any, problems: list[str]) -> float | None:
    if value is False or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        problems.append("sources.refresh must be a number of seconds (0 or false: off)")
        return None
    return float(value)


def describe(config: Config) -> dict[str, Any]:
    """What `chit config` shows: the effective settings, keys masked."""
    active = config.resolve_model()
    return {
        "path": str(config.path),
        "exists": config.path.exists(),
        "defaults": {"limit": config.limit, "pager": config.pager, "color": config.color, "model": config.default_model,
                     "timeout": config.timeout, "deadline": config.deadline},
        "models": {name: _describe_model(spec) for name, spec in sorted(config.models.items())},
        "active_model": _describe_model(active) if active else None,
        "sources": {"refresh": config.refresh, **{tool: _entry(paths) for tool, paths in config.sources.items()}},
        "sync": {"redact": config.sync_redact},
        "problems": list(config.problems),
    }


def _entry(paths: Paths) -> Any:
    """A tool's [sources] entry as the file would hold it."""
    values = [True if p is None else p for p in paths]
    return values[0] if len(values) == 1 else values


def _describe_model(spec: ModelSpec) -> dict[str, Any]:
    info: dict[str, Any] = {"name": spec.name, "provider": spec.provider, "model": spec.model}
    if spec.provider == "openai":
        key_source = "config file" if spec.api_key else ("CHIT_API_KEY" if os.environ.get("CHIT_API_KEY") else spec.api_key_env)
        info.update(base_url=shown(spec.base_url), api_key="set (" + key_source + ")" if spec.key() else "not set", timeout=spec.timeout,
                    deadline=spec.deadline)
    elif spec.provider == "command":
        info.update(command=list(spec.command), shell=spec.shell, deadline=spec.deadline)
    return info


SETUP_HELP = """No model is set up. chit talks to any OpenAI-compatible endpoint or runs a program:
  OpenAI:  export OPENAI_API_KEY=sk-…            (then: /model gpt-4o-mini)
  Ollama:  export CHIT_BASE_URL=http://localhost:11434/v1 CHIT_MODEL=llama3.2
  Program: add [models.mine] provider = "command", command = ["my-llm"] to {path}
  Offline: /model echo   (repeats what you type; for trying chit out)"""
