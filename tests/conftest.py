"""Shared test fixtures: where the staged real corpora live, and a skip when they are absent."""
import os
from pathlib import Path

import pytest

# `import numser` gives BLAS one thread (numser/thread_policy.py); imported here, before any
# test module imports NumPy, it does so through the environment on every platform (after NumPy,
# it can reach a loaded OpenBLAS on Linux only).
import numser  # noqa: F401

#: ../shared/corpora relative to the repository root (override with NUMSER_CORPORA).
CORPORA = Path(os.environ.get("NUMSER_CORPORA",
                              Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))


def corpus_dir(name):
    """The folder of a staged real corpus, or skip the test with the reason it is absent."""
    path = CORPORA / name
    if not (path / "manifest.csv").exists():
        pytest.skip(f"real corpus '{name}' not staged at {path} (set NUMSER_CORPORA to its parent)")
    return path


@pytest.fixture(scope="session")
def small_synthetic(tmp_path_factory):
    """A small built-in synthetic corpus (16 speakers × 4 emotions × 4 utterances) with its
    volumes and LLD frames, split by speaker: 10 training, 3 validation, 3 test speakers."""
    import numpy as np

    from numser.corpora.synthetic import generate_synthetic
    from numser.features import extract_features

    folder = tmp_path_factory.mktemp("synthetic")
    utts = generate_synthetic(folder / "corpus", seed=0, n_speakers=16, per_emotion=4)
    speakers = sorted({u.speaker for u in utts})
    split = {s: ("train" if i < 10 else "val" if i < 13 else "test") for i, s in enumerate(speakers)}
    data = {"utterances": utts}
    for kind in ("volume", "lld"):
        x, kept = extract_features(utts, kind, cache_dir=folder / "cache", progress=False)
        assert len(kept) == len(utts)
        data[kind] = x
    labels = np.array([u.label for u in utts])
    sets = np.array([split[u.speaker] for u in utts])
    data["y"] = {s: labels[sets == s] for s in ("train", "val", "test")}
    data["mask"] = {s: sets == s for s in ("train", "val", "test")}
    return data


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KiB tmpfs, a real disk that fills up (needs root and mount; skipped otherwise)."""
    import subprocess
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the monkeypatched ENOSPC tests cover this")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); the monkeypatched "
                    f"ENOSPC tests cover this")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def run_numser(command, *args, cwd=None):
    """Run ``python -m numser.<command> ARGS`` on this tree; the CompletedProcess (text)."""
    import subprocess
    import sys
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root)
    return subprocess.run([sys.executable, "-m", f"numser.{command}", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


@pytest.fixture(scope="session")
def emodb_ravdess_model(tmp_path_factory):
    """A quick DNN-ELM model file trained by ``numser.train`` on EmoDB + RAVDESS (12 utterances
    per speaker, 3 epochs); skipped when either corpus is absent."""
    emodb, ravdess = corpus_dir("emodb"), corpus_dir("ravdess")
    folder = tmp_path_factory.mktemp("model")
    out = folder / "dnn-elm.npz"
    run = run_numser("train", "--corpus", f"emodb={emodb}", "--corpus", f"ravdess={ravdess}",
                     "--method", "dnn-elm", "--epochs", 3, "--max-per-speaker", 12,
                     "--cache", folder / "cache", "--out", out)
    assert run.returncode == 0, run.stderr
    return out, run


#: Malformed inputs the fuzz battery (tests/test_fuzz.py) tried, per reader; printed at the end.
FUZZ_COUNTS = {}


def pytest_terminal_summary(terminalreporter):
    if FUZZ_COUNTS:
        terminalreporter.write_sep("-", "fuzz battery: inputs tried per reader")
        for reader, n in sorted(FUZZ_COUNTS.items()):
            terminalreporter.write_line(f"{reader:>22}: {n}")
