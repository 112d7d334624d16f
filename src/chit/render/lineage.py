"""Human output of `tree`, `diff` and `stats`.

Invariants: as chit.render.human's (every console from chit.render.console,
text from data made visible and never read as markup); results on stdout.
"""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text

from chit.model import age
from chit.render.environment import Environment
from chit.render.human import note
from chit.service.trees import SessionDiff, Tree, TreeNode
from chit.service.stats import Figures, Stats
from chit.visible import visible

BAR = 30  # the longest bar of the activity chart, in cells


def tree(env: Environment, found: Tree) -> None:
    if not found.roots:
        note(env, "no forks in this project" if found.focus is None else "no such tree")
        return
    reference = datetime.now(timezone.utc)
    console = env.console()
    for root in found.roots:
        for depth, node in root.walk():
            console.print(_node(node, depth, reference, node.summary.id == found.focus), soft_wrap=True)


def _node(node: TreeNode, depth: int, reference: datetime, focus: bool) -> Text:
    s = node.summary
    branch = "  " * (depth - 1) + "└─ " if depth else ""
    at = "" if depth == 0 else f"at turn {node.fork_turn} · " if node.fork_turn is not None else "at the start · "
    line = Text(branch)
    line.append(s.short_id, style="bold cyan" if focus else "cyan")
    line.append("  ")
    line.append(visible(" ".join(s.title.split())), style="bold" if focus else "")
    turns = f"{s.turns} turn{'' if s.turns == 1 else 's'}"
    line.append(visible(f"  {at}{turns} · {age(s.updated_at, reference)}"), style="dim")
    if focus:
        line.append("  ◀", style="yellow")
    return line


def diff(env: Environment, found: SessionDiff, unified: list[str]) -> None:
    """`found`, `unified` its turns' unified diff (`SessionDiff.unified`)."""
    console = env.console()
    a, b = found.a, found.b
    console.print(Text(visible(f"a {a.short_id}  {' '.join(a.title.split())}"), style="bold"), soft_wrap=True)
    console.print(Text(visible(f"b {b.short_id}  {' '.join(b.title.split())}"), style="bold"), soft_wrap=True)
    if found.shared:
        shared = f"shared: {found.shared} turn{'s' if found.shared > 1 else ''}, they part after turn {found.fork_turn}"
    else:
        shared = "shared: nothing, they differ from the first turn"
    if found.recorded is not None:
        child = b if found.recorded["child"] == b.id else a
        shared += f" (recorded: {child.short_id} forked at turn {found.recorded['turn']})"
    console.print(Text(visible(shared), style="dim"), soft_wrap=True)
    if not found.turns:
        note(env, "no differing turns")
        return
    styles = {"+": "green", "-": "red", "@": "cyan"}
    for line in unified:
        console.print(Text(visible(line), style=styles.get(line[:1], "")), soft_wrap=True)


def stats(env: Environment, found: Stats) -> None:
    console = env.console()
    console.print(Text(visible(_figures("total", found.total)), style="bold"), soft_wrap=True)
    for key, figures in found.groups.items():
        console.print(Text(visible(_figures(key, figures))), soft_wrap=True)
    if not found.days:
        note(env, "no activity in this window")
        return
    console.print(Text("messages per day", style="dim"))
    top = max(found.days.values())
    for day, count in found.days.items():
        cells = max(1, round(BAR * count / top))
        console.print(Text.assemble(f"{day}  ", ("█" * cells, "green"), f" {count}"), soft_wrap=True)


def _figures(label: str, f: Figures) -> str:
    cost = "" if f.cost is None else f" · cost {f.cost:.2f}"
    return (
        f"{label}: {f.sessions} sessions · {f.turns} turns · {f.messages} messages · "
        f"tokens {f.tokens_in:,} in / {f.tokens_out:,} out{cost}"
    )
