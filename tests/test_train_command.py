"""``python -m numser.train``: one model on all given corpora, a speaker-independent validation
split, an atomic self-contained model file; bad arguments give one line."""
import numpy as np
import pytest

from conftest import run_numser
from numser.model_file import load_model_file


@pytest.mark.slow
def test_trains_on_emodb_and_ravdess_with_held_out_validation_speakers(emodb_ravdess_model):
    path, run = emodb_ravdess_model
    meta = load_model_file(path).meta
    t = meta["training"]
    assert t["corpora"] == ["emodb", "ravdess"]
    train, val = set(t["speakers"]["train"]), set(t["speakers"]["val"])
    assert not train & val
    # 20 % of each corpus's speakers: EmoDB 10 → 2, RAVDESS 24 → 5
    assert sum(s.startswith("emodb:") for s in val) == 2
    assert sum(s.startswith("ravdess:") for s in val) == 5
    assert t["n_utterances"]["train"] + t["n_utterances"]["val"] == 34 * 12
    assert 0 < t["val_ua"] <= 1 and t["epochs_run"] <= 3
    assert "epoch  1/3" in run.stderr and "wrote" in run.stderr          # progress as in cv
    assert not list(path.parent.glob(".*tmp*"))                         # atomic: no leftovers


def test_bad_arguments_print_one_line(tmp_path):
    run = run_numser("train", "--corpus", f"emodb={tmp_path / 'none'}", "--method", "dnn-elm",
                     "--out", tmp_path / "m.npz", "--cache", tmp_path / "cache")
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert run.stderr.startswith("numser.train: error:") and "does not exist" in run.stderr
    run = run_numser("train", "--corpus", "synthetic=4", "--method", "dnn-elm", "--epochs", 0,
                     "--out", tmp_path / "m.npz", "--cache", tmp_path / "cache")
    assert run.returncode == 2 and "--epochs must be >= 1" in run.stderr


@pytest.mark.slow
def test_synthetic_model_predicts_its_own_corpus(tmp_path):
    out = tmp_path / "m.npz"
    run = run_numser("train", "--corpus", "synthetic=5", "--method", "lstm-elm", "--epochs", 1,
                     "--max-per-speaker", 8, "--cache", tmp_path / "cache", "--out", out)
    assert run.returncode == 0, run.stderr
    trained = load_model_file(out)
    assert trained.meta["method"] == "lstm-elm" and trained.model.elm is not None
    assert len(trained.meta["training"]["speakers"]["val"]) == 1          # 20 % of 5
    p = trained.predict_proba(np.zeros((2, 198, 32), np.float32))
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
