"""Speaker-independent folds: disjoint sets, every speaker tested once, determinism, real corpora."""
import csv

import numpy as np
import pytest

from conftest import corpus_dir
from numser import ParameterError
from numser.errors import FileFormatError
from numser.folds import (Fold, folds_csv_text, read_folds_csv, speaker_folds, speaker_groups,
                          write_folds_csv)


def check_protocol(folds, all_speakers, n_folds):
    """The docs/spec.md §6 invariants, with a message naming the fold and speaker that break them."""
    assert len(folds) == n_folds
    tested, validated = [], []
    for fold in folds:
        assert isinstance(fold, Fold)
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            both = getattr(fold, a) & getattr(fold, b)
            assert not both, f"fold {fold.index}: speakers {sorted(both)} in both {a} and {b}"
        assert fold.train | fold.val | fold.test == all_speakers, f"fold {fold.index} loses speakers"
        assert fold.train and fold.val and fold.test, f"fold {fold.index} has an empty set"
        tested += sorted(fold.test)
        validated += sorted(fold.val)
    assert sorted(tested) == sorted(all_speakers), "a speaker is not tested exactly once"
    assert sorted(validated) == sorted(all_speakers), "a speaker is not validated exactly once"


def random_corpora(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 31, size=int(rng.integers(1, 5)))
    sizes[0] = max(sizes[0], 5)            # one corpus fills the 5 groups
    corpora, speakers = [], []
    for c, size in enumerate(sizes):
        for s in range(size):
            n_utt = int(rng.integers(1, 4))    # per-utterance entries, repeated speakers
            corpora += [f"c{c}"] * n_utt
            speakers += [f"c{c}:{s:02d}"] * n_utt
    order = rng.permutation(len(speakers))     # utterance order must not matter
    return [corpora[i] for i in order], [speakers[i] for i in order], sizes


@pytest.mark.parametrize("seed", range(60))
def test_random_corpora_obey_the_protocol(seed):
    corpora, speakers, sizes = random_corpora(seed)
    n_folds = 3 + seed % 3
    folds = speaker_folds(corpora, speakers, n_folds=n_folds, seed=seed)
    check_protocol(folds, frozenset(speakers), n_folds)
    # per corpus, the test groups are near-equal (np.array_split) or single speakers
    for c, size in enumerate(sizes):
        per_fold = [sum(s.startswith(f"c{c}:") for s in fold.test) for fold in folds]
        expected = [len(g) for g in np.array_split(np.arange(size), n_folds)]
        assert per_fold == expected, f"corpus c{c} ({size} speakers): test sizes {per_fold}"


@pytest.mark.parametrize("seed", range(10))
def test_same_seed_same_folds_and_utterance_vs_speaker_entries(seed):
    corpora, speakers, _ = random_corpora(seed)
    a = speaker_folds(corpora, speakers, seed=seed)
    b = speaker_folds(corpora[::-1], speakers[::-1], seed=seed)
    unique = sorted(set(zip(corpora, speakers)))
    c = speaker_folds([u[0] for u in unique], [u[1] for u in unique], seed=seed)
    assert a == b == c


def test_different_seeds_shuffle_differently():
    speakers = [f"x:{i:02d}" for i in range(30)]
    tests = {tuple(sorted(speaker_folds(["x"] * 30, speakers, seed=s)[0].test)) for s in range(10)}
    assert len(tests) > 1


def test_small_corpus_round_robin():
    # 'big' fills every group; 'small' (2 speakers) appears in groups 0 and 1 only
    corpora = ["big"] * 10 + ["small"] * 2
    speakers = [f"big:{i}" for i in range(10)] + ["small:a", "small:b"]
    groups = speaker_groups(corpora, speakers, seed=3)
    assert [len(g) for g in groups["small"]] == [1, 1, 0, 0, 0]
    folds = speaker_folds(corpora, speakers, seed=3)
    check_protocol(folds, frozenset(speakers), 5)
    assert sum(any(s.startswith("small:") for s in f.test) for f in folds) == 2


def test_adding_a_later_corpus_keeps_earlier_groups():
    a = speaker_groups(["a"] * 7, [f"a:{i}" for i in range(7)], seed=11)
    b = speaker_groups(["a"] * 7 + ["b"] * 6, [f"a:{i}" for i in range(7)]
                       + [f"b:{i}" for i in range(6)], seed=11)
    assert a["a"] == b["a"]


def test_masks_select_utterances():
    corpora = ["e"] * 12
    speakers = [f"e:{i % 6}" for i in range(12)]
    fold = speaker_folds(corpora, speakers, n_folds=3, seed=0)[1]
    train, val, test = fold.masks(speakers)
    assert train.dtype == bool and train.shape == (12,)
    assert not np.any(train & val) and not np.any(train & test) and not np.any(val & test)
    assert np.all(train | val | test)
    for mask, group in ((train, fold.train), (val, fold.val), (test, fold.test)):
        assert {s for s, m in zip(speakers, mask) if m} == group


def read_manifest_speakers(name):
    with open(corpus_dir(name) / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [name] * len(rows), [f"{name}:{r['speaker']}" for r in rows]


@pytest.mark.parametrize("name, n_speakers", [("emodb", 10), ("ravdess", 24), ("urdu", 29),
                                              ("emovo", 6)])
def test_real_corpus_alone(name, n_speakers):
    corpora, speakers = read_manifest_speakers(name)
    assert len(set(speakers)) == n_speakers
    for seed in range(5):
        folds = speaker_folds(corpora, speakers, seed=seed)
        check_protocol(folds, frozenset(speakers), 5)
        assert folds == speaker_folds(corpora, speakers, seed=seed)
        train, val, test = folds[0].masks(speakers)
        assert train.sum() + val.sum() + test.sum() == len(speakers)


def test_real_corpora_merged():
    corpora, speakers = [], []
    for name in ("emodb", "ravdess", "urdu", "emovo"):
        c, s = read_manifest_speakers(name)
        corpora += c
        speakers += s
    for seed in range(5):
        folds = speaker_folds(corpora, speakers, seed=seed)
        check_protocol(folds, frozenset(speakers), 5)
        # 69 speakers: fold f tests group f of every corpus, whose size np.array_split fixes:
        # emodb 10 -> 2 2 2 2 2, ravdess 24 -> 5 5 5 5 4, urdu 29 -> 6 6 6 6 5, emovo 6 -> 2 1 1 1 1
        assert [len(f.test) for f in folds] == [15, 14, 14, 14, 12]
        assert [len(f.val) for f in folds] == [14, 14, 14, 12, 15]


def test_bad_n_folds():
    with pytest.raises(ParameterError, match="n_folds=2.*>= 3"):
        speaker_folds(["a"] * 6, [f"a:{i}" for i in range(6)], n_folds=2)


def test_bad_too_few_speakers_says_what_works():
    with pytest.raises(ParameterError, match=r"a: 4.*use n_folds between 3 and 4"):
        speaker_folds(["a"] * 4 + ["b"] * 2, ["a:1", "a:2", "a:3", "a:4", "b:1", "b:2"])


def test_bad_too_few_speakers_for_any_fold():
    with pytest.raises(ParameterError, match="at least 3 speakers"):
        speaker_folds(["a", "b"], ["a:1", "b:1"], n_folds=3)


def test_bad_unequal_lengths():
    with pytest.raises(ParameterError, match="one corpus name per speaker"):
        speaker_folds(["a", "a"], ["a:1"])


def test_bad_speaker_in_two_corpora():
    with pytest.raises(ParameterError, match="namespace speaker ids"):
        speaker_folds(["a", "b"] + ["a"] * 5, ["01", "01"] + [f"{i}" for i in range(2, 7)])


def test_bad_empty():
    with pytest.raises(ParameterError, match="no speakers"):
        speaker_folds([], [])


def test_validation_split_takes_a_fifth_of_each_corpus_disjointly():
    from numser.folds import validation_split
    speakers = [f"a:{i}" for i in range(10)] + [f"b:{i}" for i in range(24)] + ["c:0"]
    corpora = [s.split(":")[0] for s in speakers]
    train, val = validation_split(corpora, speakers, seed=4)
    assert not train & val and train | val == set(speakers)
    assert [sum(s.startswith(c + ":") for s in val) for c in "abc"] == [2, 5, 0]
    assert validation_split(corpora, speakers, seed=4) == (train, val)
    assert validation_split(corpora, speakers, seed=5) != (train, val)


def test_validation_split_needs_a_corpus_with_two_speakers():
    from numser.folds import validation_split
    with pytest.raises(ParameterError, match="two or more speakers"):
        validation_split(["a", "b"], ["a:1", "b:1"])
    with pytest.raises(ParameterError, match="fraction"):
        validation_split(["a", "a"], ["a:1", "a:2"], fraction=1.0)


# --- the split file ---------------------------------------------------------------------------

SPLIT_SPEAKERS = [f"a:{i:02d}" for i in range(7)] + [f"b:{i}" for i in range(6)]
CORPUS_OF = {s: s.split(":")[0] for s in SPLIT_SPEAKERS}


def _split(seeds=(0, 3)):
    return {s: speaker_folds(list(CORPUS_OF.values()), list(CORPUS_OF), seed=s) for s in seeds}


def test_split_file_round_trip(tmp_path):
    split = _split()
    write_folds_csv(tmp_path / "folds.csv", split, CORPUS_OF)
    assert read_folds_csv(tmp_path / "folds.csv", SPLIT_SPEAKERS) == split
    lines = (tmp_path / "folds.csv").read_text().splitlines()
    assert lines[0] == "seed,fold,role,corpus,speaker"
    assert len(lines) == 1 + 2 * 5 * len(SPLIT_SPEAKERS)          # speaker × fold × seed
    assert "0,0,test,a," in (tmp_path / "folds.csv").read_text()


def _bad(tmp_path, text):
    path = tmp_path / "f.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(FileFormatError) as e:
        read_folds_csv(path, SPLIT_SPEAKERS)
    assert str(e.value).startswith(str(path)) and "\n" not in str(e.value)
    return str(e.value)


def test_split_file_errors_name_the_first_offending_row(tmp_path):
    good = folds_csv_text(_split((0,)), CORPUS_OF).splitlines()
    header, rows = good[0], good[1:]
    assert "line 5: speaker 'c:01' is not in the data" in _bad(
        tmp_path, "\n".join([header] + rows[:3] + ["0,0,train,c,01"] + rows[3:]))
    twice = rows[0].replace(",train,", ",val,")
    assert f"line {len(rows) + 2}: speaker 'a:" in _bad(tmp_path, "\n".join([header] + rows + [twice]))
    assert "both train (line 2) and val" in _bad(tmp_path, "\n".join([header] + rows + [twice]))
    assert "does not place speaker" in _bad(tmp_path, "\n".join([header] + rows[1:]))
    assert "line 3: role 'dev'" in _bad(tmp_path, "\n".join([header, rows[0],
                                                             rows[1].replace("train", "dev")]))
    assert "line 2: seed '-0'" in _bad(tmp_path, "\n".join([header, "-" + rows[0]]))
    assert "line 2: 4 cells" in _bad(tmp_path, "\n".join([header, rows[0].rsplit(",", 1)[0]]))
    assert "header must be" in _bad(tmp_path, "\n".join(rows))
    assert "no rows after the header" in _bad(tmp_path, header)
    assert "not UTF-8" in _bad(tmp_path, header.encode() + b"\n0,0,train,a,\xff\n")
    assert "header must be" in _bad(tmp_path, b"")
    # a fold numbering with a gap
    moved = [r.replace("0,4,", "0,7,", 1) if r.startswith("0,4,") else r for r in rows]
    assert "seed 0 has folds 0, 1, 2, 3, 7" in _bad(tmp_path, "\n".join([header] + moved))


def test_split_file_reader_is_total_on_random_bytes(tmp_path):
    """Any bytes either parse or raise FileFormatError (nothing else escapes)."""
    hypothesis = pytest.importorskip("hypothesis", reason="the property test uses hypothesis")
    st = hypothesis.strategies
    good = folds_csv_text(_split((0,)), CORPUS_OF).encode()
    path = tmp_path / "f.csv"

    @hypothesis.settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @hypothesis.given(st.one_of(st.binary(max_size=300),
                                st.tuples(st.integers(0, len(good)), st.binary(max_size=20)).map(
                                    lambda c: good[:c[0]] + c[1] + good[c[0]:])))
    def check(data):
        path.write_bytes(data)
        for known in (None, SPLIT_SPEAKERS):
            try:
                read_folds_csv(path, known)
            except FileFormatError:
                pass

    check()


def test_loco_folds_test_on_a_whole_corpus_never_seen_in_training():
    from numser.folds import loco_folds
    speakers = [f"a:{i}" for i in range(10)] + [f"b:{i}" for i in range(5)] + ["c:0", "c:1"]
    corpora = [s.split(":")[0] for s in speakers]
    folds = loco_folds(corpora, speakers, seed=1)
    assert list(folds) == ["a", "b", "c"]
    for held_out, fold in folds.items():
        assert fold.test == {s for s in speakers if s.startswith(held_out + ":")}
        assert not (fold.train | fold.val) & fold.test and not fold.train & fold.val
        assert fold.train | fold.val | fold.test == set(speakers)
    # validation: 20 % of each training corpus's speakers (a: 10 → 2, b: 5 → 1)
    assert sorted(v.split(":")[0] for v in folds["c"].val) == ["a", "a", "b"]


def test_loco_needs_two_corpora():
    from numser.folds import loco_folds
    with pytest.raises(ParameterError, match="at least two corpora"):
        loco_folds(["a", "a"], ["a:1", "a:2"])


def test_train_fraction_keeps_val_and_test_and_nests_per_corpus():
    speakers = [f"a:{i}" for i in range(10)] + [f"b:{i}" for i in range(5)]
    fold = speaker_folds([s.split(":")[0] for s in speakers], speakers, seed=3)[1]
    quarter, half = fold.with_train_fraction(0.25, seed=3), fold.with_train_fraction(0.5, seed=3)
    for sub in (quarter, half):
        assert sub.test == fold.test and sub.val == fold.val and sub.index == fold.index
    assert quarter.train < half.train < fold.train            # nested: a curve adds speakers
    # per corpus: ceil(0.5 * 6) = 3 of corpus a's training speakers, ceil(0.5 * 3) = 2 of b's
    assert sorted(s[0] for s in half.train) == ["a"] * 3 + ["b"] * 2
    assert fold.with_train_fraction(1.0) == fold
    with pytest.raises(ParameterError, match="train fraction"):
        fold.with_train_fraction(0.0)
