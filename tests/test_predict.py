"""``python -m numser.predict``: cross-corpus prediction from a manifest, robust to bad files,
a clean CSV on stdout, identical probabilities for the same file."""
import csv
import io

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from conftest import corpus_dir, run_numser
from numser import CLASSES
from numser.metrics import accuracy, macro_f1, unweighted_accuracy
from numser.predict import COLUMNS

pytestmark = pytest.mark.slow       # every test here trains (once) on two real corpora


def rows(stdout):
    """The CSV rows of a predict run's stdout, checking the comment line and the header."""
    lines = stdout.splitlines()
    assert lines[0].startswith("# numser.predict model=")
    table = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert list(table[0]) == list(COLUMNS)
    return table


def test_emovo_from_its_manifest_above_chance(emodb_ravdess_model):
    model, _ = emodb_ravdess_model
    emovo = corpus_dir("emovo")
    run = run_numser("predict", model, emovo / "manifest.csv")
    assert run.returncode == 0, run.stderr
    table = rows(run.stdout)
    assert len(table) == 336 and all(r["label"] in CLASSES and not r["error"] for r in table)
    for r in table:
        assert sum(float(r[f"p_{c}"]) for c in CLASSES) == pytest.approx(1, abs=1e-5)
    assert "gain normalised per speaker" in run.stdout.splitlines()[0]
    with open(emovo / "manifest.csv", newline="", encoding="utf-8") as f:
        truth = {str(emovo / r["path"]): CLASSES.index(r["label"]) for r in csv.DictReader(f)}
    y_true = np.array([truth[r["path"]] for r in table])
    y_pred = np.array([CLASSES.index(r["label"]) for r in table])
    ua = unweighted_accuracy(y_true, y_pred)
    assert ua > 0.25, run.stderr                        # a model never trained on Italian
    assert (f"UA {ua:.3f}, WA {accuracy(y_true, y_pred):.3f}, "
            f"macro-F1 {macro_f1(y_true, y_pred):.3f}") in run.stderr
    assert "WA" in run.stderr and "confusion" in run.stderr


def _make_folder(folder, source):
    folder.mkdir()
    y, sr = sf.read(source, dtype="float32")
    sf.write(folder / "good.flac", y, sr)
    y44 = resample_poly(y, 441, 160).astype(np.float32)
    (folder / "sub").mkdir()
    sf.write(folder / "sub" / "stereo44k.wav", np.stack([y44, 0.5 * y44], axis=1), 44100)
    flac = source.read_bytes()
    (folder / "truncated.flac").write_bytes(flac[:len(flac) // 2])
    (folder / "empty.wav").write_bytes(b"")
    (folder / "notes.wav").write_text("this is not audio\n")
    sf.write(folder / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(folder / "short.wav", y[:800], sr)
    (folder / "readme.txt").write_text("not searched: not an audio extension")


def test_folder_with_bad_files_predicts_the_good_ones(emodb_ravdess_model, tmp_path):
    model, _ = emodb_ravdess_model
    source = corpus_dir("emodb") / "wav" / "03a01Fa.flac"
    _make_folder(tmp_path / "in", source)
    run = run_numser("predict", model, tmp_path / "in", tmp_path / "missing.wav")
    assert run.returncode == 0, run.stderr
    table = {r["path"].replace(str(tmp_path), ""): r for r in rows(run.stdout)}
    assert set(table) == {"/in/good.flac", "/in/sub/stereo44k.wav", "/in/truncated.flac",
                          "/in/empty.wav", "/in/notes.wav", "/in/silent.wav", "/in/short.wav",
                          "/missing.wav"}
    for ok in ("/in/good.flac", "/in/sub/stereo44k.wav"):
        assert table[ok]["label"] in CLASSES and table[ok]["error"] == ""
    reasons = {"/in/truncated.flac": "corrupt or truncated", "/in/empty.wav": "empty file",
               "/in/notes.wav": "not an audio file", "/in/silent.wav": "silent",
               "/in/short.wav": "too short", "/missing.wav": "file not found"}
    for name, reason in reasons.items():
        assert table[name]["label"] == "" and reason in table[name]["error"], table[name]
        assert f"skipped {tmp_path}{name}" in run.stderr          # named on stderr
    assert "per file" in run.stdout.splitlines()[0]


def test_same_file_twice_gives_identical_probabilities_and_out_file(emodb_ravdess_model, tmp_path):
    model, _ = emodb_ravdess_model
    wav = corpus_dir("emodb") / "wav" / "03a01Fa.flac"
    out = tmp_path / "p.csv"
    run = run_numser("predict", model, wav, corpus_dir("emodb") / "wav" / "03a01Nc.flac", wav,
                     "--out", out)
    assert run.returncode == 0 and run.stdout == ""
    table = rows(out.read_text())
    assert table[0] == table[2] and table[0]["path"] == str(wav)
    again = rows(run_numser("predict", model, wav).stdout)
    assert again[0] == table[0]


def test_nothing_predictable_exits_non_zero(emodb_ravdess_model, tmp_path):
    model, _ = emodb_ravdess_model
    (tmp_path / "empty.wav").write_bytes(b"")
    run = run_numser("predict", model, tmp_path / "empty.wav")
    assert run.returncode == 1 and rows(run.stdout)[0]["error"]


def test_a_damaged_model_file_is_one_line(tmp_path):
    bad = tmp_path / "m.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    run = run_numser("predict", bad, tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == f"numser.predict: error: {bad}: " + run.stderr.split(f"{bad}: ")[1].strip()
    assert "\n" not in run.stderr.strip()
