"""Manifest CSV reader/writer, the Utterance record, and load_corpus / load_corpora."""
import dataclasses
import os

import pytest
from conftest import corpus_dir

from numser import CLASSES, FileFormatError, ParameterError
from numser.corpora import (
    Utterance, identical_audio, load_corpora, load_corpus, read_manifest, write_manifest)


def write(tmp_path, text, files=("a.flac", "b.flac"), name="manifest.csv"):
    """A manifest with the given text, and empty stand-in audio files next to it."""
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes(b"")
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_rows_with_relative_paths_and_namespaced_speakers(tmp_path):
    csv = write(tmp_path, "path,speaker,label,gender,extra\n"
                          "a.flac,03,happy,M,x\n"
                          "sub/b.flac,04,Sad ,,y\n", files=("a.flac", "sub/b.flac"))
    utterances = read_manifest(csv, corpus="demo")
    assert utterances == [
        Utterance(str(tmp_path / "a.flac"), "demo", "demo:03", CLASSES.index("happy"), "M"),
        Utterance(str(tmp_path / "sub" / "b.flac"), "demo", "demo:04", CLASSES.index("sad"), None)]
    assert utterances[1].emotion == "sad"
    assert all(os.path.isabs(u.path) for u in utterances)


def test_corpus_from_column_else_folder_name(tmp_path):
    folder = tmp_path / "mycorpus"
    folder.mkdir()
    csv = write(folder, "path,speaker,label,corpus\na.flac,1,neutral,alpha\nb.flac,1,angry,\n")
    assert [(u.corpus, u.speaker) for u in read_manifest(csv)] == \
        [("alpha", "alpha:1"), ("mycorpus", "mycorpus:1")]


def test_utterance_is_frozen(tmp_path):
    u = Utterance("/x.flac", "c", "c:1", 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        u.label = 1
    assert u.gender is None


def test_unknown_label_names_file_row_and_value(tmp_path):
    csv = write(tmp_path, "path,speaker,label\na.flac,1,happy\nb.flac,1,calm\n")
    with pytest.raises(FileFormatError,
                       match=r"manifest.csv, row 3: label 'calm'.*--drop-unknown-labels"):
        read_manifest(csv)
    with pytest.warns(UserWarning, match=r"manifest.csv: dropped 1 row\(s\).*'calm' \(1\)"):
        assert [u.emotion for u in read_manifest(csv, drop_unknown=True)] == ["happy"]


def test_drop_unknown_reports_count_and_labels(tmp_path):
    csv = write(tmp_path, "path,speaker,label\na.flac,1,calm\nb.flac,1,Fear\nc.flac,1,calm\n"
                          "d.flac,1,sad\n", files=("a.flac", "b.flac", "c.flac", "d.flac"))
    with pytest.warns(UserWarning, match=r"dropped 3 row\(s\) .*: 'Fear' \(1\), 'calm' \(2\)"):
        utterances = read_manifest(csv, drop_unknown=True)
    assert [u.emotion for u in utterances] == ["sad"]


def test_byte_order_mark_whitespace_and_case_are_tolerated(tmp_path):
    text = "Path , SPEAKER,label\r\n a.flac ,  07 , Angry \r\nb.flac,07,NEUTRAL\r\n"
    csv = write(tmp_path, "")
    csv.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    utterances = read_manifest(csv, corpus="demo")
    assert [(os.path.basename(u.path), u.speaker, u.emotion) for u in utterances] == \
        [("a.flac", "demo:07", "angry"), ("b.flac", "demo:07", "neutral")]


def test_not_utf8_names_row_and_byte(tmp_path):
    csv = write(tmp_path, "")
    csv.write_bytes("path,speaker,label\na.flac,Jürgen,happy\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match=r"manifest.csv, row 2: not UTF-8 text \(byte 0xfc"):
        read_manifest(csv)


def test_duplicate_path_refused_with_both_rows(tmp_path):
    csv = write(tmp_path, "path,speaker,label\na.flac,1,happy\nb.flac,1,sad\n./a.flac,2,angry\n")
    with pytest.raises(FileFormatError, match=r"manifest.csv, row 4: audio file './a.flac' is "
                                              r"listed again \(first in row 2\)"):
        read_manifest(csv)


def test_doubled_column_refused(tmp_path):
    csv = write(tmp_path, "path,speaker,label,Label\na.flac,1,happy,sad\n")
    with pytest.raises(FileFormatError, match=r"row 1 \(header\): column\(s\) label appear"):
        read_manifest(csv)


def test_identical_audio_found_by_content(tmp_path):
    for name, data in (("a.flac", b"same"), ("b.flac", b"same"), ("c.flac", b"diff"),
                       ("d.flac", b"other!")):
        (tmp_path / name).write_bytes(data)
    utterances = [Utterance(str(tmp_path / n), "c", "c:1", 0) for n in ("c.flac", "a.flac",
                                                                          "d.flac", "b.flac")]
    assert identical_audio(utterances) == [[str(tmp_path / "a.flac"), str(tmp_path / "b.flac")]]
    assert identical_audio(utterances[:2]) == []


def test_identical_audio_in_staged_ravdess():
    root = corpus_dir("ravdess")
    groups = identical_audio(read_manifest(root / "manifest.csv"))
    assert [[os.path.relpath(p, root) for p in g] for g in groups] == \
        [["Actor_07/03-01-03-01-02-01-07.flac", "Actor_07/03-01-03-01-02-02-07.flac"]]


def test_missing_column_names_csv(tmp_path):
    csv = write(tmp_path, "path,label\na.flac,happy\n")
    with pytest.raises(FileFormatError, match=r"manifest.csv, row 1 \(header\): lacks column\(s\) "
                                              r"speaker"):
        read_manifest(csv)


def test_missing_audio_file_names_csv_and_row(tmp_path):
    csv = write(tmp_path, "path,speaker,label\na.flac,1,happy\nnope.flac,1,sad\n")
    with pytest.raises(FileFormatError,
                       match=r"manifest.csv, row 3: audio file 'nope.flac' not found"):
        read_manifest(csv)


def test_empty_speaker_names_row(tmp_path):
    csv = write(tmp_path, "path,speaker,label\na.flac,,happy\n")
    with pytest.raises(FileFormatError, match=r"row 2: empty 'speaker'"):
        read_manifest(csv)


def test_missing_manifest(tmp_path):
    with pytest.raises(ParameterError, match="manifest not found"):
        read_manifest(tmp_path / "none.csv")


def test_empty_manifest_file(tmp_path):
    csv = tmp_path / "manifest.csv"
    csv.write_text("")
    with pytest.raises(FileFormatError, match="lacks column"):
        read_manifest(csv)


def test_write_then_read_round_trip(tmp_path):
    csv = write(tmp_path, "path,speaker,label,gender\na.flac,s1,angry,F\nb.flac,s2,neutral,\n")
    utterances = read_manifest(csv, corpus="demo")
    out = tmp_path / "copy.csv"
    write_manifest(utterances, out, extra=[{"note": "x"}, {"note": "y"}])
    assert read_manifest(out) == utterances
    assert out.read_text().splitlines()[1] == "a.flac,demo,s1,F,angry,x"


@pytest.mark.parametrize("name, n_utterances, n_speakers", [("urdu", 400, 29), ("emovo", 336, 6)])
def test_staged_manifest_corpora(name, n_utterances, n_speakers):
    root = corpus_dir(name)
    utterances = read_manifest(root / "manifest.csv")
    assert len(utterances) == n_utterances
    assert len({u.speaker for u in utterances}) == n_speakers
    assert {u.corpus for u in utterances} == {name}
    assert all(u.speaker.startswith(f"{name}:") for u in utterances)
    assert {u.gender for u in utterances} == {"M", "F"}
    assert all(os.path.isfile(u.path) for u in utterances[::50])


# --- load_corpus / load_corpora --------------------------------------------------------------

def test_load_corpus_manifest_spec_accepts_csv_or_folder(tmp_path):
    csv = write(tmp_path, "path,speaker,label\na.flac,1,happy\n")
    assert load_corpus(f"manifest={csv}") == load_corpus(f"manifest={tmp_path}") == \
        read_manifest(csv)


def test_load_corpus_synthetic_uses_cache_dir(tmp_path):
    utterances = load_corpus("synthetic=2", cache_dir=tmp_path, seed=5, per_emotion=1)
    assert len(utterances) == 2 * 4
    assert {u.speaker for u in utterances} == {"synthetic:s00", "synthetic:s01"}
    assert all(u.path.startswith(str(tmp_path / "synthetic" / "seed5-n2-p1")) for u in utterances)


@pytest.mark.parametrize("spec, message", [
    ("emodb=/no/such/folder", r"folder /no/such/folder does not exist"),
    ("ravdess=/no/such/folder", r"folder /no/such/folder does not exist"),
    ("manifest=/no/such.csv", r"manifest file /no/such.csv does not exist"),
    ("iemocap=/x", r"not understood; use one of synthetic"),
    ("emodb", r"not understood"),
    ("synthetic=zero", r"N_SPEAKERS must be a positive integer"),
    ("synthetic=0", r"N_SPEAKERS must be a positive integer"),
])
def test_load_corpus_bad_specs(spec, message):
    with pytest.raises(ParameterError, match=message):
        load_corpus(spec)


def test_load_corpus_empty_corpus_is_an_error(tmp_path):
    with pytest.raises(ParameterError, match=r"'emodb=.*': no utterance of the four classes"):
        load_corpus(f"emodb={tmp_path}")
    csv = write(tmp_path, "path,speaker,label\n")
    with pytest.raises(ParameterError, match="no utterance of the four classes"):
        load_corpus(f"manifest={csv}")


def test_load_corpora_combines_and_keeps_speakers_apart(tmp_path):
    a = write(tmp_path / "one", "path,speaker,label\na.flac,1,happy\n")
    b = write(tmp_path / "two", "path,speaker,label\na.flac,1,sad\n")
    utterances = load_corpora([f"manifest={a}", f"manifest={b}"])
    assert [u.speaker for u in utterances] == ["one:1", "two:1"]


def test_load_corpora_refuses_duplicates(tmp_path):
    a = write(tmp_path / "one", "path,speaker,label\na.flac,1,happy\n")
    with pytest.raises(ParameterError, match="given twice"):
        load_corpora([f"manifest={a}", f"manifest={a}"])
    with pytest.raises(ParameterError, match="both load corpus 'one'"):
        load_corpora([f"manifest={a}", f"manifest={tmp_path / 'one'}"])
    with pytest.raises(ParameterError, match="no corpus spec"):
        load_corpora([])


def test_load_corpora_refuses_one_file_in_two_corpora(tmp_path):
    a = write(tmp_path / "one", "path,speaker,label\na.flac,1,happy\n")
    (tmp_path / "two").mkdir()
    b = write(tmp_path / "two", f"path,speaker,label\n{tmp_path / 'one' / 'a.flac'},1,happy\n",
              files=())
    with pytest.raises(ParameterError, match=r"both list .*one/a.flac; a recording may belong"):
        load_corpora([f"manifest={a}", f"manifest={b}"])


def test_load_corpus_passes_drop_unknown(tmp_path):
    csv = write(tmp_path, "path,speaker,label\na.flac,1,happy\nb.flac,1,calm\n")
    with pytest.raises(FileFormatError, match="'calm'"):
        load_corpora([f"manifest={csv}"])
    with pytest.warns(UserWarning, match="dropped 1 row"):
        assert len(load_corpora([f"manifest={csv}"], drop_unknown=True)) == 1


def test_load_corpora_real_and_synthetic(tmp_path):
    emodb = corpus_dir("emodb")
    utterances = load_corpora([f"emodb={emodb}", "synthetic=2"], cache_dir=tmp_path,
                              per_emotion=1)
    assert len(utterances) == 339 + 8
    assert {u.corpus for u in utterances} == {"emodb", "synthetic"}
