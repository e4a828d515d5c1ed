"""Shared test fixtures: where the staged real corpora live, and a skip when they are absent."""
import os
from pathlib import Path

import pytest

#: ../shared/corpora relative to the repository root (override with NUMSER_CORPORA).
CORPORA = Path(os.environ.get("NUMSER_CORPORA",
                              Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))


def corpus_dir(name):
    """The folder of a staged real corpus, or skip the test with the reason it is absent."""
    path = CORPORA / name
    if not (path / "manifest.csv").exists():
        pytest.skip(f"real corpus '{name}' not staged at {path} (set NUMSER_CORPORA to its parent)")
    return path
