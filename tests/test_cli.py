"""What the commands share: one declaration per option, one line per user error, console scripts."""
import argparse
import ast
import importlib
from pathlib import Path

import pytest

from numser.cli import add_corpus_arguments, add_training_arguments, run_command
from numser.errors import FileFormatError, ParameterError

ROOT = Path(__file__).resolve().parents[1]


def test_console_scripts_point_at_command_mains():
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    scripts = next(ast.literal_eval(k.value) for node in ast.walk(tree)
                   if isinstance(node, ast.Call) for k in node.keywords
                   if k.arg == "entry_points")["console_scripts"]
    names = {s.split("=")[0] for s in scripts}
    assert names == {"numser-cv", "numser-train", "numser-predict", "numser-report"}
    for script in scripts:
        module, func = script.split("=")[1].split(":")
        assert callable(getattr(importlib.import_module(module), func)), script


def test_shared_options_parse_with_their_defaults():
    p = argparse.ArgumentParser()
    add_corpus_arguments(p)
    add_training_arguments(p)
    args = p.parse_args(["--corpus", "synthetic", "--lr", "1e-3"])
    assert args.corpus == ["synthetic"] and args.lr == 1e-3 and args.epochs == 20
    assert args.patience == 5 and args.batch_size == 128 and args.max_per_speaker == 0


@pytest.mark.parametrize("error", [ParameterError("--x: bad"), FileFormatError("m.npz", "damaged"),
                                   OSError(28, "No space left on device", "out.csv")])
def test_user_errors_are_one_line_and_exit_2(error, capsys):
    def body():
        raise error
    assert run_command("demo", body) == 2
    err = capsys.readouterr().err
    assert err.startswith("numser.demo: error: ") and err.count("\n") == 1
