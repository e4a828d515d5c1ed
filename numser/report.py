"""The paper's tables and figures from a run's task JSON files (docs/spec.md §6): ``python -m numser.report DIR``.

Reads ``DIR/tasks/*.json`` (one per method, configuration, fold and seed, as written by
:mod:`numser.cv`) and writes ``DIR/results.json`` (:mod:`numser.results`), ``DIR/tables.md``
(:mod:`numser.tables`) and the PNG figures (:mod:`numser.figures`), without training anything.
"""
import argparse
import os
import sys

from numser.atomic import write_json, write_text
from numser.cli import run_command
from numser.figures import write_figures
from numser.results import build_results, load_tasks, require_run_folder
from numser.tables import tables_markdown


def write_report(out, figures=True):
    """Write results.json, tables.md and (``figures``) the figures of run folder ``out``; return
    the Markdown."""
    results = build_results(out)
    write_json(os.path.join(out, "results.json"), results)
    md = tables_markdown(results)
    write_text(os.path.join(out, "tables.md"), md)
    if figures:
        write_figures(out, results, load_tasks(out, warn=False))
    return md


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m numser.report",
                                description="Rebuild tables.md, results.json and the figures of a "
                                            "numser.cv run folder from its task JSON files.")
    p.add_argument("out", help="the --out folder of a numser.cv run")
    p.add_argument("--no-figures", action="store_true",
                   help="tables.md and results.json only (the tables of a run in progress, in a "
                        "second; the figures stay as they were)")
    args = p.parse_args(argv)
    return run_command("report", lambda: _main(args))


def _main(args):
    require_run_folder(args.out)
    print(write_report(args.out, figures=not args.no_figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
