"""EmoDB read from its own file names, checked against the staged corpus's manifest."""
import csv

import pytest
from conftest import corpus_dir

from numser import CLASSES
from numser.corpora import load_emodb
from numser.corpora.emodb import parse_emodb_name


def touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


@pytest.mark.parametrize("name, expected", [
    ("wav/03a01Fa.flac", ("03", "F")), ("16b10Wb.wav", ("16", "W")), ("08a02Lc", ("08", "L")),
    ("3a01Fa.flac", None), ("03a01Xa.flac", None), ("03a01Fa1.flac", None), ("03A01Fa.wav", None),
])
def test_parse_names(name, expected):
    assert parse_emodb_name(name) == expected


def test_label_map_and_dropped_letters(tmp_path):
    touch(tmp_path / "wav", "03a01Wa.flac", "03a01Fa.flac", "03a01Ta.wav", "03a01Na.flac",
          "03a01La.flac", "03a01Ea.flac", "03a01Aa.flac")
    utterances = load_emodb(tmp_path)
    assert sorted(CLASSES[u.label] for u in utterances) == sorted(CLASSES)
    assert {u.speaker for u in utterances} == {"emodb:03"}
    assert {u.gender for u in utterances} == {"M"}


def test_searches_root_and_wav_and_ignores_other_files(tmp_path):
    touch(tmp_path, "08a01Fa.wav", "notes.txt", "manifest.csv")
    touch(tmp_path / "wav", "09a01Na.flac")
    touch(tmp_path / "docs", "10a01Na.flac")        # only root and root/wav are searched
    utterances = load_emodb(tmp_path)
    assert [(u.speaker, u.gender) for u in utterances] == [("emodb:08", "F"), ("emodb:09", "F")]


def test_malformed_name_warns_and_is_skipped(tmp_path):
    touch(tmp_path / "wav", "03a01Fa.flac", "bad_name.flac")
    with pytest.warns(UserWarning, match=r"bad_name.flac: not an EmoDB name.*skipped"):
        utterances = load_emodb(tmp_path)
    assert len(utterances) == 1


def test_same_recording_twice_warns(tmp_path):
    touch(tmp_path / "wav", "03a01Fa.flac", "03a01Fa.wav")
    with pytest.warns(UserWarning, match="same recording"):
        assert len(load_emodb(tmp_path)) == 1


def test_staged_corpus_matches_its_manifest():
    root = corpus_dir("emodb")
    utterances = load_emodb(root)
    assert len(utterances) == 339
    assert len({u.speaker for u in utterances}) == 10
    with open(root / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(str(root / r["path"]), "emodb:" + r["speaker"], r["label"], r["gender"]) for r in rows] \
        == [(u.path, u.speaker, CLASSES[u.label], u.gender) for u in utterances]
