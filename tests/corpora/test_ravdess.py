"""RAVDESS read from its own file names, checked against the staged corpus's manifest."""
import csv

import pytest
from conftest import corpus_dir

from numser import CLASSES
from numser.corpora import load_ravdess
from numser.corpora.ravdess import parse_ravdess_name


def touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_parse_name():
    assert parse_ravdess_name("Actor_07/03-01-05-02-01-02-07.flac") == dict(
        modality="03", channel="01", emotion="05", intensity="02", statement="01",
        repetition="02", actor="07")
    for bad in ("03-01-05-02-01-02.flac", "03-01-09-01-01-01-01.wav", "3-1-5-1-1-1-1.wav",
                "03-01-05-01-01-01-01-01.flac"):
        assert parse_ravdess_name(bad) is None, bad


def test_label_map_gender_and_dropped(tmp_path):
    touch(tmp_path / "Actor_01", *(f"03-01-{e:02d}-01-01-01-01.flac" for e in range(1, 9)))
    touch(tmp_path / "Actor_02", "03-01-04-02-02-02-02.wav",
          "03-02-03-01-01-01-02.flac")                  # song: dropped
    utterances = load_ravdess(tmp_path)
    actor1 = [u for u in utterances if u.speaker == "ravdess:01"]
    assert [CLASSES[u.label] for u in actor1] == ["neutral", "happy", "sad", "angry"]
    assert {u.gender for u in actor1} == {"M"}
    actor2 = [u for u in utterances if u.speaker == "ravdess:02"]
    assert [(CLASSES[u.label], u.gender) for u in actor2] == [("sad", "F")]


def test_malformed_name_warns_and_is_skipped(tmp_path):
    touch(tmp_path / "Actor_03", "03-01-05-01-01-01-03.flac", "03-01-05-01-01-01.flac",
          "readme.txt")
    with pytest.warns(UserWarning, match=r"03-01-05-01-01-01.flac: not a RAVDESS name.*skipped"):
        utterances = load_ravdess(tmp_path)
    assert len(utterances) == 1


def test_actor_folder_mismatch_warns(tmp_path):
    touch(tmp_path / "Actor_03", "03-01-05-01-01-01-04.flac")
    with pytest.warns(UserWarning, match="disagrees with folder Actor_03"):
        utterances = load_ravdess(tmp_path)
    assert [u.speaker for u in utterances] == ["ravdess:04"]


def test_staged_corpus_matches_its_manifest():
    root = corpus_dir("ravdess")
    utterances = load_ravdess(root)
    assert len(utterances) == 672
    assert len({u.speaker for u in utterances}) == 24
    with open(root / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(str(root / r["path"]), "ravdess:" + r["speaker"], r["label"], r["gender"])
            for r in rows] == [(u.path, u.speaker, CLASSES[u.label], u.gender) for u in utterances]
