"""The model file round-trips exactly, and any damaged or foreign file raises FileFormatError."""
import json
import os
import shutil
import subprocess
import zipfile

import numpy as np
import pytest

from numser import CLASSES
from numser.errors import FileFormatError, ParameterError
from numser.features import Standardiser
from numser.model_file import FORMAT_VERSION, git_commit, load_model_file, save_model_file
from numser.models import build
from numser.train import TrainConfig, fit_model, save_model

TRAINING = {"corpora": ["synthetic"], "speakers": {"train": ["synthetic:a"], "val": ["synthetic:b"]},
            "val_ua": 0.5}


@pytest.fixture(scope="module")
def saved(small_synthetic, tmp_path_factory):
    """A DNN-ELM trained one epoch on the small synthetic corpus, saved as a model file."""
    d = small_synthetic
    x = {s: d["lld"][m] for s, m in d["mask"].items()}
    model = build("dnn-elm", seed=3)
    out = fit_model(model, x, d["y"], TrainConfig(max_epochs=1, batch_size=32), log=None)
    path = tmp_path_factory.mktemp("model") / "m.npz"
    save_model_file(path, model, out["standardiser"],
                    training={**TRAINING, "val_ua": out["fit"]["best_val_ua"]})
    return path, model, out


def test_round_trip_predicts_identically(saved, small_synthetic):
    path, model, out = saved
    trained = load_model_file(path)
    raw_test = small_synthetic["lld"][small_synthetic["mask"]["test"]]
    np.testing.assert_array_equal(trained.predict_proba(raw_test),
                                  model.predict_proba(out["x"]["test"]))
    assert trained.model.config == model.config
    np.testing.assert_array_equal(trained.standardiser.mean, out["standardiser"].mean)


def test_meta_holds_provenance_and_settings(saved):
    path, model, out = saved
    with np.load(path, allow_pickle=False) as data:          # loadable without pickle
        meta = json.loads(str(data["meta"]))
    assert meta["format_version"] == FORMAT_VERSION and meta["classes"] == list(CLASSES)
    assert meta["method"] == "dnn-elm" and meta["input"] == {"kind": "lld", "shape": [198, 32]}
    assert meta["features"]["sample_rate"] == 16000 and meta["features"]["lld"]["hop_length"] == 160
    assert meta["training"]["val_ua"] == out["fit"]["best_val_ua"]
    assert meta["elm"]["n_hidden"] == model.elm.n_hidden and meta["git_commit"]
    assert meta["machine"]["llvm_cpu"] and meta["machine"]["cores"] == os.cpu_count()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_marks_changed_tracked_files_only(tmp_path):
    assert git_commit(str(tmp_path)) == "unknown"                 # not a checkout
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run(git + ["init", "-q"], check=True)
    (tmp_path / "a.py").write_text("x = 1\n")
    subprocess.run(git + ["add", "a.py"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "a"], check=True)
    commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    (tmp_path / "result.json").write_text("{}")                    # untracked: still clean
    assert git_commit(str(tmp_path)) == commit
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_commit(str(tmp_path)) == commit + "-dirty"


def _rewrite(src, dst, change):
    """Copy a model file with ``change(arrays)`` applied (arrays: name → ndarray)."""
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    np.savez(dst, **arrays)


def _meta_edit(edit):
    def change(arrays):
        meta = json.loads(str(arrays["meta"]))
        edit(meta)
        arrays["meta"] = np.array(json.dumps(meta))
    return change


@pytest.mark.parametrize("name, change, reason", [
    ("version", _meta_edit(lambda m: m.update(format_version=FORMAT_VERSION + 1)), "format version"),
    ("features", _meta_edit(lambda m: m["features"]["lld"].update(hop_length=80)), "feature settings"),
    ("classes", _meta_edit(lambda m: m.update(classes=["happy", "neutral", "sad", "angry"])),
     "class order"),
    ("method", _meta_edit(lambda m: m["config"].update(method="svm")), "unknown method"),
    ("cells", _meta_edit(lambda m: m["config"].update(cells=10**9)), "cells"),
    ("weights", lambda a: a.update(param_0=a["param_0"][:-1]), "architecture"),
    ("nan", lambda a: a.update(param_1=np.full_like(a["param_1"], np.nan)), "NaN"),
    ("scaler", lambda a: a.pop("scaler_std"), "standardiser"),
    # finite but beyond any feature: real inputs would overflow the network (found by fuzzing)
    ("scaler_mean", lambda a: a.update(scaler_mean=np.full_like(a["scaler_mean"], 3e38)),
     "standardiser"),
    ("elm", lambda a: a.pop("elm_beta"), "ELM"),
    ("meta", lambda a: a.pop("meta"), "no 'meta'"),
    ("label", _meta_edit(lambda m: m.pop("label")), "'label' is missing"),
    ("mixed", _meta_edit(lambda m: m.update(method="lstm-elm")), "configuration"),
    ("val_ua", _meta_edit(lambda m: m["training"].update(val_ua="high")), "validation UA"),
    ("speakers", _meta_edit(lambda m: m["training"].update(speakers=None)), "speakers"),
    ("pickle", lambda a: a.update(meta=np.array([{"x": 1}], dtype=object)), "objects"),
])
def test_foreign_or_edited_files_are_refused(saved, tmp_path, name, change, reason):
    bad = tmp_path / f"{name}.npz"
    _rewrite(saved[0], bad, change)
    with pytest.raises(FileFormatError, match=reason) as e:
        load_model_file(bad)
    assert str(e.value).startswith(str(bad))


def test_any_truncation_or_flipped_byte_loads_or_raises_file_format_error(saved, tmp_path):
    data = saved[0].read_bytes()
    rng = np.random.default_rng(0)
    cuts = [0, 1, 10, 100, len(data) // 2, len(data) - 22, len(data) - 1]
    for i, cut in enumerate(cuts):
        (tmp_path / f"cut{i}.npz").write_bytes(data[:cut])
    for i, pos in enumerate(rng.integers(0, len(data), 40)):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        (tmp_path / f"flip{i}.npz").write_bytes(bytes(flipped))
    (tmp_path / "text.npz").write_text("not a model")
    for path in sorted(tmp_path.glob("*.npz")):
        try:
            trained = load_model_file(path)
        except FileFormatError as e:
            assert str(e).startswith(str(path))
        else:                            # a flip in slack bytes: the model must still work
            assert trained.predict_proba(np.zeros((1, 198, 32), np.float32)).shape == (1, 4)


def test_missing_file_and_checkpoint_style_file(tmp_path, saved):
    with pytest.raises(FileFormatError, match="file not found"):
        load_model_file(tmp_path / "none.npz")
    save_model(tmp_path / "weights.npz", saved[1])            # weights only: not a model file
    with pytest.raises(FileFormatError, match="not a numser model file"):
        load_model_file(tmp_path / "weights.npz")


def test_member_whose_header_promises_more_than_it_holds(saved, tmp_path):
    bad = tmp_path / "short.npz"
    with zipfile.ZipFile(saved[0]) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, body[:-4] if info.filename == "param_0.npy" else body)
    with pytest.raises(FileFormatError, match="param_0.npy"):
        load_model_file(bad)


def test_saving_needs_the_elm_and_the_standardiser(small_synthetic, tmp_path):
    model = build("dnn-elm")
    with pytest.raises(ParameterError, match="ELM"):
        save_model_file(tmp_path / "x.npz", model, Standardiser(np.zeros(32), np.ones(32)),
                        training=TRAINING)
    model = build("3d-cnn-dnn", kernel=(2, 2, 2))
    with pytest.raises(ParameterError, match="standardiser"):
        save_model_file(tmp_path / "x.npz", model, None, training=TRAINING)
