"""The cost of the eight-corpus run: task time and wall time per folder, per method and in total,
without the pauses logged in INTERRUPTIONS.md (numser.report.run_time); and the git commits and
machines that computed each folder's tasks.

A pause is a row of INTERRUPTIONS.md whose 'what' starts with 'paused' and whose both times are
exact (ISO, UTC); the task files' times are the machine's local time, UTC on the machines that
ran this. Usage, from the repository root:

    python results/paper-8corpora/cost.py [results/paper-8corpora]
"""
import os
import re
import sys
from datetime import datetime

from numser.results import commits, load_tasks, machines, run_time

STAMP = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"


def pauses(interruptions):
    """(start, end) POSIX times of the exact 'paused' rows of an INTERRUPTIONS.md table."""
    found = []
    with open(interruptions, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3 or not cells[2].startswith("paused"):
                continue
            times = [re.fullmatch(STAMP, c) for c in cells[:2]]
            if all(times):
                # read like the task files' local times (UTC on the run's machines), without Z
                found.append(tuple(datetime.fromisoformat(m.group(1)[:-1]).timestamp()
                                   for m in times))
    return sorted(found)


def _line(name, tasks, stops):
    t = run_time(tasks, stops)
    return (f"| {name} | {t['n_tasks']} | {t['task_seconds'] / 3600:.2f} | "
            f"{t['wall_seconds'] / 3600:.2f} | {t['paused_seconds'] / 3600:.2f} |")


def cost_markdown(root):
    """Per folder, per method (all folders) and in total, as a Markdown table."""
    stops = pauses(os.path.join(root, "INTERRUPTIONS.md"))
    folders = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d, "tasks")))
    every = {d: load_tasks(os.path.join(root, d)) for d in folders}
    tasks = [t for d in folders for t in every[d]]
    lines = [f"{len(stops)} pauses ({sum(b - a for a, b in stops) / 60:.0f} min) taken out. "
             "Task time: training and evaluation summed over tasks; wall time: while at least one "
             "of the rows' tasks ran; paused: the pauses inside that wall time.", "",
             "| folder or method | tasks | task hours | wall hours | paused hours |",
             "|---|---|---|---|---|"]
    lines += [_line(f"`{d}/`", every[d], stops) for d in folders]
    for method in dict.fromkeys(t["method"] for t in tasks):
        lines.append(_line(method, [t for t in tasks if t["method"] == method], stops))
    lines.append(_line("**total**", tasks, stops))
    tally = lambda counts: ", ".join(f"{value} ({n})" for value, n in counts)
    lines += ["", "## Code and machines", "", "The git commits and the machines (Numba's name "
              "for the CPU, its model, cores) that computed each folder's tasks, with how many "
              "tasks each, in the order first used.", "",
              "| folder | tasks | commits | machines |", "|---|---|---|---|"]
    lines += [f"| `{d}/` | {len(every[d])} | {tally(commits(every[d]))} "
              f"| {tally(machines(every[d]))} |" for d in folders]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(cost_markdown(sys.argv[1] if len(sys.argv) > 1 else "results/paper-8corpora"), end="")
