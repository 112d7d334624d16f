"""`chit __complete KIND [--project NAME] [-- PREFIX]`: the values the shell
completion scripts ask chit for while you type.

    ref      sessions of the project in scope (or all, as REF resolves),
             newest first: `<short id><TAB><title>`; the full id when the
             prefix is longer than a short id
    trash    trashed sessions, most recently deleted first
    tag      every tag in use, one per line
    project  every project: `<name><TAB><path>`

Invariants: this is a protocol for scripts, not a command people use (it is
not in the app's registry or help); it runs before the Typer app is built,
loads no UI library, and never prints an error or a traceback: whatever
goes wrong, it prints what it has (perhaps nothing) and exits 0. It
writes to the stream it is given (the Environment's stdout), never to
`sys.stdout` itself.
"""

from __future__ import annotations

from typing import TextIO

from chit.visible import visible

KINDS = ("ref", "trash", "tag", "project")
REF_LIMIT = 100


def _clean(text: str) -> str:
    return " ".join(visible(text).split())


def _lines(kind: str, project: str | None, prefix: str) -> list[str]:
    from chit.api import Chit
    from chit.model import SHORT_ID_LEN
    from chit.service.facade import parts_of

    chit = Chit(project=project)
    ctx = parts_of(chit).ctx
    ctx.catch_up_here = False  # a completion never catches the index up: the files answer
    lowered = prefix.strip().lower().removeprefix("ctx_")
    if kind == "ref":
        if lowered:
            found = chit.find(lowered)
            if not found and ctx.project_name is None:
                found = chit.find(lowered, all_projects=True)
        else:
            found = chit.list(limit=REF_LIMIT)
        full = len(lowered.replace("-", "")) > SHORT_ID_LEN
        return [f"{s.id if full else s.short_id}\t{_clean(s.title)}" for s in found[:REF_LIMIT]]
    if kind == "trash":
        found = [s for s in chit.trash(all_projects=True) if s.id.startswith(lowered) or s.short_id.startswith(lowered)]
        return [f"{s.short_id}\t{_clean(s.title)}" for s in found[:REF_LIMIT]]
    if kind == "tag":
        tags = {t for s in chit.list(all_projects=True) for t in s.tags}
        return sorted(tags)
    if kind == "project":
        rows = ctx.projects.all()
        names = [p.name for p in rows]
        return [f"{p.name if names.count(p.name) == 1 else p.slug}\t{_clean(p.path or '')}" for p in rows]
    return []


def run(args: list[str], out: TextIO) -> int:
    """Print completion values for `args` (after `__complete`) on `out`; always 0."""
    try:
        kind = args[0] if args else ""
        project: str | None = None
        prefix = ""
        rest = args[1:]
        while rest:
            word = rest.pop(0)
            if word in ("--project", "-p") and rest:
                project = rest.pop(0)
            elif word == "--":
                prefix = rest[0] if rest else ""
                break
        if kind in KINDS:
            lines = _lines(kind, project or None, prefix)
            out.write("".join(line + "\n" for line in lines))
            out.flush()
    except BaseException:  # noqa: BLE001 - a completion must never show an error
        pass
    return 0
