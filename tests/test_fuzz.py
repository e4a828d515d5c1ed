"""Every file numser reads, fuzzed (issue 17).

For each reader — manifest CSV, task JSON, training checkpoint, feature-cache entries (range JSON
and feature array), standardiser file and audio — thousands of damaged inputs: the valid small
file cut at every length, random bytes, random byte flips of the valid file, and structured
damage (wrong types and shapes, NaN/inf, huge values, missing and extra fields, wrong encodings).
Each input must either load into a valid object (checked, and used the way numser uses it) or
raise numser's error type (FileFormatError or AudioError; ParameterError for a whole checkpoint
of another training configuration) whose message contains the file's path. Anything else — a
KeyError, a zipfile or NumPy error, a crash later on the loaded object — fails the test.

The default run is fast (a few seconds: hypothesis with few examples); the ``slow`` variants try
five times more. Both are derandomized, so that CI is reproducible: a deep run with random inputs
once failed CI on a model file it had never drawn before (a standardiser mean of 3e38, now
refused). ``NUMSER_FUZZ_EXPLORE=1 python -m pytest tests/test_fuzz.py -m slow`` draws new inputs
each time, to look for such failures. The number of inputs tried per reader is
printed at the end of the pytest run (``FUZZ_COUNTS`` in conftest.py).
"""
import csv
import io
import json
import math
import os
import warnings

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FUZZ_COUNTS
from numser import CLASSES, AudioError, FileFormatError, ParameterError
from numser.audio import load_audio
from numser.corpora import read_manifest
from numser.features import Standardiser, read_feature_entry, read_range_entry
from numser.results import read_task

FAST, DEEP = 60, 300
DEPTHS = [FAST, pytest.param(DEEP, marks=pytest.mark.slow, id="deep")]


#: NUMSER_FUZZ_EXPLORE=1 draws new random inputs on every run, to look for new failures; without
#: it every run (CI's too) tries the same inputs, so a red CI always means a change broke a reader.
EXPLORE = bool(os.environ.get("NUMSER_FUZZ_EXPLORE"))


def fuzz_settings(n):
    return settings(max_examples=n, deadline=None, database=None, derandomize=not EXPLORE,
                    suppress_health_check=list(HealthCheck))


def attempt(reader, read, path, data, check=None, errors=(FileFormatError, AudioError)):
    """Write ``data`` to ``path`` and read it: a valid object (``check`` passes) or a refusal.

    Returns "loaded" or "refused"; any other exception propagates and fails the test.
    """
    path.write_bytes(data)
    FUZZ_COUNTS[reader] = FUZZ_COUNTS.get(reader, 0) + 1
    try:
        obj = read(path)
    except errors as e:
        assert str(path) in str(e), f"{type(e).__name__} without the path: {e}"
        assert "\n" not in str(e), f"a multi-line message: {e!r}"
        return "refused"
    if check is not None:
        check(obj)
    return "loaded"


def truncations(data, stride=1):
    """Every proper prefix of ``data`` (every ``stride``-th length, always the short ones)."""
    return [data[:n] for n in range(len(data)) if n < 64 or n % stride == 0]


def flips(data):
    """A strategy for ``data`` with 1-8 bytes replaced at random positions."""
    @st.composite
    def flipped(draw):
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    return flipped()


#: JSON values of every kind, the awkward numbers included.
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, -1, 1e308, -1e308, 2**63, float("nan"), float("inf"), "", "NaN"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=8)


def damaged_json(valid):
    """A strategy: ``valid`` (a dict) with fields replaced, removed or added, as JSON bytes."""
    @st.composite
    def damaged(draw):
        obj = json.loads(json.dumps(valid))
        for _ in range(draw(st.integers(1, 3))):
            action = draw(st.sampled_from(["replace", "remove", "add", "replace_inner"]))
            key = draw(st.sampled_from(sorted(obj))) if obj else None
            if action == "replace" and key is not None:
                obj[key] = draw(JSON_VALUES)
            elif action == "remove" and key is not None:
                del obj[key]
            elif action == "add":
                obj[draw(st.text(max_size=6))] = draw(JSON_VALUES)
            elif key is not None and isinstance(obj[key], (list, dict)) and obj[key]:
                inner = obj[key]
                slot = draw(st.sampled_from(sorted(inner) if isinstance(inner, dict)
                                            else range(len(inner))))
                inner[slot] = draw(JSON_VALUES)
        return json.dumps(obj, allow_nan=True).encode()
    return damaged()


# --- manifest CSV -----------------------------------------------------------------------------

MANIFEST = ("path,speaker,label,gender\n"
            "a.flac,03,happy,M\n"
            "sub/b.flac,04,Sad ,\n"
            "c.flac,04,angry,F\n").encode()


@pytest.fixture
def manifest_dir(tmp_path):
    for name in ("a.flac", "sub/b.flac", "c.flac"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def check_utterances(utterances):
    paths = [u.path for u in utterances]
    assert len(set(paths)) == len(paths)
    for u in utterances:
        assert 0 <= u.label < len(CLASSES) and u.speaker.startswith(u.corpus + ":")
        assert u.speaker != u.corpus + ":"


def read_manifest_quietly(path):
    return read_manifest(path, corpus="demo")


def test_manifest_truncated_at_every_length(manifest_dir):
    path = manifest_dir / "manifest.csv"
    outcomes = {attempt("manifest CSV", read_manifest_quietly, path, d, check_utterances)
                for d in truncations(MANIFEST)}
    assert outcomes == {"loaded", "refused"}


@pytest.mark.parametrize("n", DEPTHS)
def test_manifest_random_bytes_and_flips(manifest_dir, n):
    path = manifest_dir / "manifest.csv"

    @fuzz_settings(n)
    @given(st.binary(max_size=200) | flips(MANIFEST))
    def run(data):
        attempt("manifest CSV", read_manifest_quietly, path, data, check_utterances)
    run()


CELLS = st.sampled_from(["a.flac", "sub/b.flac", "c.flac", "./a.flac", "missing.flac", "",
                         " ", "happy", "Sad ", "ANGRY", "calm", "03", "M", "\x00", "é",
                         '"', "a,b", "x\ny", "\ufeff"]) | st.text(max_size=6)
HEADERS = st.lists(st.sampled_from(["path", "speaker", "label", "gender", "corpus", " Path ",
                                    "LABEL", "extra", "", "\ufeffpath"]) | st.text(max_size=5),
                   min_size=0, max_size=6)


@pytest.mark.parametrize("n", DEPTHS)
def test_manifest_structured(manifest_dir, n):
    """Random headers and cells, quoted or not, in UTF-8, UTF-8 with BOM, UTF-16 or Latin-1."""
    path = manifest_dir / "manifest.csv"

    @fuzz_settings(n)
    @given(HEADERS, st.lists(st.lists(CELLS, max_size=7), max_size=5),
           st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]),
           st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
    def run(header, rows, encoding, newline, drop):
        buf = io.StringIO()
        csv.writer(buf, lineterminator=newline).writerows([header] + rows)
        try:
            data = buf.getvalue().encode(encoding)
        except UnicodeEncodeError:
            data = buf.getvalue().encode("utf-8", "replace")
        with warnings.catch_warnings():          # dropped labels warn; only the outcome counts
            warnings.simplefilter("ignore")
            attempt("manifest CSV", lambda p: read_manifest(p, corpus="demo", drop_unknown=drop),
                    path, data, check_utterances)
    run()


def test_manifest_valid_forms_still_load(manifest_dir):
    """The fuzzing's 'loaded' outcomes are real: BOM, CRLF and blanks give the same corpus."""
    path = manifest_dir / "manifest.csv"
    path.write_bytes(MANIFEST)
    expected = read_manifest_quietly(path)
    assert len(expected) == 3
    for data in (b"\xef\xbb\xbf" + MANIFEST, MANIFEST.replace(b"\n", b"\r\n"),
                 MANIFEST.replace(b",", b" , ")):
        path.write_bytes(data)
        assert read_manifest_quietly(path) == expected


# --- task JSON --------------------------------------------------------------------------------

TASK = {
    "task": "dnn-elm__context1__fold0", "method": "dnn-elm", "config": "3 x FC 256, context 1",
    "kwargs": {"context": 1}, "fold": 0, "n_params": 141060, "paper_params_k": None,
    "test_ua": 0.5, "val_ua": 0.25, "best_epoch": 1,
    "history": [{"epoch": 1, "loss": 1.5, "val_ua": 0.25, "seconds": 0.1}], "elm": None,
    "per_speaker_ua": {"c:1": 0.5, "c:2": 0.5}, "per_corpus_ua": {"c": 0.5},
    "confusion": [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]],
    "y_true": [0, 1, 3], "y_pred": [0, 2, 3], "test_speakers": ["c:1", "c:2", "c:2"],
    "n_train": 8, "n_val": 8, "n_test": 3, "seconds_train": 1.0, "seconds_eval": 0.1,
    "seconds": 1.2, "resumed_after_epoch": 0, "started": "2026-12-03T20:00:00",
    "finished": "2026-12-03T20:00:01", "git_commit": "abc", "tsne": [[0.1, 0.2]] * 3,
}
TASK_BYTES = json.dumps(TASK, indent=1).encode()


def check_task(task):
    """A task the report can use: its order key, its summary and its time all compute."""
    from numser.results import _task_order, run_time, summarise
    _task_order(task)
    summary = summarise([task])
    assert math.isfinite(summary["mean"])
    run_time([task])


def test_task_json_valid_sample_loads(tmp_path):
    assert attempt("task JSON", read_task, tmp_path / "t.json", TASK_BYTES, check_task) == "loaded"


def test_task_json_truncated_at_every_length(tmp_path):
    path = tmp_path / "t.json"
    outcomes = {attempt("task JSON", read_task, path, d, check_task)
                for d in truncations(TASK_BYTES)}
    assert outcomes == {"refused"}


@pytest.mark.parametrize("n", DEPTHS)
def test_task_json_damaged(tmp_path, n):
    path = tmp_path / "t.json"

    @fuzz_settings(n)
    @given(damaged_json(TASK) | flips(TASK_BYTES) | st.binary(max_size=100)
           | st.sampled_from([b"[" * 100000, b'{"a":' * 50000, b"1" * 5000, "é".encode("utf-16"),
                              json.dumps(TASK).encode("utf-16"), b"\xff\xfe", b"null"]))
    def run(data):
        attempt("task JSON", read_task, path, data, check_task)
    run()


@pytest.mark.slow
def test_task_json_committed_results_truncated(tmp_path):
    """A real task file of the committed run (30 kB), cut at every 61st length; every length of
    a small task file: test_task_json_truncated_at_every_length."""
    import glob
    root = os.path.join(os.path.dirname(__file__), "..", "results", "paper-4corpora", "tasks")
    files = sorted(glob.glob(os.path.join(root, "dnn-elm*.json")))
    if not files:
        pytest.skip("no committed task results in results/paper-4corpora")
    data = open(files[0], "rb").read()
    check_task(read_task(files[0]))
    for d in truncations(data, stride=61):
        assert attempt("task JSON", read_task, tmp_path / "t.json", d, check_task) == "refused"


# --- feature-cache entries --------------------------------------------------------------------

RANGE = json.dumps({"lo": -0.25, "hi": 0.75}).encode()


def check_range(entry):
    from numser.audio import normalise_gain
    if "error" in entry:
        assert isinstance(entry["error"], str)
        return
    with warnings.catch_warnings():                       # lo == hi: "silent speaker", fine here
        warnings.simplefilter("ignore", RuntimeWarning)
        z = normalise_gain(np.array([0.0, 0.5], dtype=np.float32), entry["lo"], entry["hi"])
    assert np.isfinite(z).all()


def test_cache_range_truncated_at_every_length(tmp_path):
    path = tmp_path / "r.json"
    outcomes = {attempt("cache range entry", read_range_entry, path, d, check_range)
                for d in truncations(RANGE)}
    assert outcomes == {"refused"}


@pytest.mark.parametrize("n", DEPTHS)
def test_cache_range_damaged(tmp_path, n):
    path = tmp_path / "r.json"

    @fuzz_settings(n)
    @given(damaged_json({"lo": -0.25, "hi": 0.75}) | damaged_json({"error": "x.flac: bad"})
           | flips(RANGE) | st.binary(max_size=40)
           | st.builds(lambda lo, hi: json.dumps({"lo": lo, "hi": hi}).encode(),
                       st.floats(), st.floats()))
    def run(data):
        attempt("cache range entry", read_range_entry, path, data, check_range)
    run()


FEATURE_SHAPE = (4, 3)


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


FEATURE = _npy(np.arange(12, dtype=np.float32).reshape(FEATURE_SHAPE))


def read_feature(path):
    return read_feature_entry(path, FEATURE_SHAPE)


def check_feature(x):
    assert x.shape == FEATURE_SHAPE and x.dtype == np.float32 and np.isfinite(x).all()


def test_cache_features_truncated_at_every_length(tmp_path):
    path = tmp_path / "f.npy"
    outcomes = {attempt("cache feature entry", read_feature, path, d, check_feature)
                for d in truncations(FEATURE)}
    assert outcomes == {"refused"}


ARRAYS = st.sampled_from([
    np.zeros((3, 4), np.float32), np.zeros(FEATURE_SHAPE, np.float64),
    np.full(FEATURE_SHAPE, np.nan, np.float32), np.full(FEATURE_SHAPE, np.inf, np.float32),
    np.full(FEATURE_SHAPE, 3e38, np.float32), np.zeros(FEATURE_SHAPE, np.int32),
    np.array("text"), np.zeros((0,), np.float32), np.array([object()], dtype=object),
    np.zeros(FEATURE_SHAPE, np.float32).T, np.zeros((4, 3, 1), np.float32)])


@pytest.mark.parametrize("n", DEPTHS)
def test_cache_features_damaged(tmp_path, n):
    path = tmp_path / "f.npy"
    npz = io.BytesIO()
    np.savez(npz, x=np.zeros(FEATURE_SHAPE, np.float32))

    @fuzz_settings(n)
    @given(flips(FEATURE) | st.binary(max_size=200) | ARRAYS.map(_npy)
           | st.just(npz.getvalue())
           | st.builds(lambda shape: FEATURE[:8] + FEATURE[8:].replace(
               b"(4, 3)", shape.encode().ljust(6)[:6]),
               st.sampled_from(["(9999999999,)", "(-1, 3)", "(4,)", "()", "(a, 3)", "((", "9"])))
    def run(data):
        attempt("cache feature entry", read_feature, path, data, check_feature)
    run()


# --- standardiser file ------------------------------------------------------------------------

def _npz(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


SCALER = _npz(mean=np.zeros(3, np.float32), std=np.ones(3, np.float32))


def check_scaler(s):
    z = s.transform(np.ones((2, s.mean.shape[0]), np.float32))
    assert np.isfinite(z).all()


def test_standardiser_truncated_and_damaged(tmp_path):
    path = tmp_path / "s.npz"
    outcomes = {attempt("standardiser file", Standardiser.load, path, d, check_scaler)
                for d in truncations(SCALER)}
    assert outcomes == {"refused"}
    for arrays in ({"mean": np.zeros(3)}, {"mean": np.zeros(3), "std": np.zeros(3)},
                   {"mean": np.zeros(3), "std": np.ones(4)}, {"mean": np.zeros((1, 3)),
                                                              "std": np.ones((1, 3))},
                   {"mean": np.full(3, np.nan), "std": np.ones(3)},
                   {"mean": np.zeros(3, int), "std": np.ones(3, int)}):
        assert attempt("standardiser file", Standardiser.load, path, _npz(**arrays),
                       check_scaler) == "refused"


# --- audio ------------------------------------------------------------------------------------

def _audio(fmt, subtype, n=160, channels=1, sr=16000):
    t = np.arange(n) / sr
    y = 0.5 * np.sin(2 * np.pi * 440 * t)
    y = np.stack([y] * channels, axis=1) if channels > 1 else y
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


WAV = _audio("WAV", "PCM_16")
FLAC = _audio("FLAC", "PCM_16")
FLOAT_WAV = _audio("WAV", "FLOAT", n=40, channels=2, sr=8000)


def check_audio(y):
    assert y.ndim == 1 and y.dtype == np.float32 and y.size > 0 and np.isfinite(y).all()


@pytest.mark.parametrize("name, data", [("wav", WAV), ("flac", FLAC), ("float-wav", FLOAT_WAV)],
                         ids=["wav", "flac", "float-wav"])
def test_audio_truncated_at_every_length(tmp_path, name, data):
    path = tmp_path / f"x.{name.split('-')[-1]}"
    outcomes = [attempt("audio", load_audio, path, d, check_audio) for d in truncations(data)]
    assert "refused" in outcomes


def _wav_header(rate, channels, bits, fmt_code, n_bytes):
    """A RIFF/WAVE header with the given fields, followed by ``n_bytes`` of 0x11."""
    block = max(channels * bits // 8, 0) & 0xFFFF
    fmt = (fmt_code.to_bytes(2, "little") + (channels & 0xFFFF).to_bytes(2, "little")
           + (rate & 0xFFFFFFFF).to_bytes(4, "little")
           + ((rate * block) & 0xFFFFFFFF).to_bytes(4, "little")
           + block.to_bytes(2, "little") + (bits & 0xFFFF).to_bytes(2, "little"))
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt \
        + b"data" + n_bytes.to_bytes(4, "little") + b"\x11" * n_bytes
    return b"RIFF" + len(body).to_bytes(4, "little") + body


@pytest.mark.parametrize("n", DEPTHS)
def test_audio_damaged(tmp_path, n):
    path = tmp_path / "x.wav"

    @fuzz_settings(n)
    @given(flips(WAV) | flips(FLAC) | flips(FLOAT_WAV) | st.binary(max_size=300)
           | st.builds(_wav_header,
                       st.sampled_from([0, 1, 7, 8000, 16000, 44101, 768000, 999983, 2**31 - 1,
                                        2**32 - 1]),
                       st.sampled_from([0, 1, 2, 7, 300, 65535]),
                       st.sampled_from([0, 1, 8, 16, 24, 32, 64, 7]),
                       st.sampled_from([1, 3, 2, 0, 0xFFFE, 6, 7]),
                       st.sampled_from([0, 1, 2, 64, 320])))
    def run(data):
        attempt("audio", load_audio, path, data, check_audio)
    run()


def test_audio_float_with_nan_inf_and_huge_values(tmp_path):
    for value in (np.nan, np.inf, -np.inf, 3e38, 1e-45):
        y = np.full(64, value, np.float32)
        buf = io.BytesIO()
        sf.write(buf, y, 16000, format="WAV", subtype="FLOAT")
        outcome = attempt("audio", load_audio, tmp_path / "x.wav", buf.getvalue(), check_audio)
        assert outcome == ("loaded" if np.isfinite(value) else "refused")


# --- training checkpoint ----------------------------------------------------------------------

def tiny_model():
    """A 49-parameter network with dropout: its checkpoint is 9 KB, small enough to cut at every
    length. The checkpoint reader only relies on ``model.parameters()`` and the generators."""
    from numser.models import Model, ModelConfig
    from numser.nn.activations import ReLU
    from numser.nn.dense import Dense
    from numser.nn.dropout import Dropout
    rng = np.random.default_rng(0)
    return Model(ModelConfig("dnn-elm"), [Dense(3, 5, rng=rng), ReLU(), Dropout(0.5, rng=rng),
                                          Dense(5, 4, rng=rng)], "lld", False, (3,))


TINY_X = np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32)
TINY_Y = np.arange(8) % 4


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    from numser.train import TrainConfig, train
    path = tmp_path_factory.mktemp("ckpt") / "c.npz"
    config = TrainConfig(max_epochs=1, batch_size=4, patience=None)
    train(tiny_model(), TINY_X, TINY_Y, TINY_X, TINY_Y, config, checkpoint=str(path), log=None)
    return path.read_bytes(), config


def read_and_resume(config):
    """Read the checkpoint into a fresh tiny model, then train one more step from it."""
    from numser.nn.adam import Adam
    from numser.nn.loss import softmax_cross_entropy
    from numser.train import _load_checkpoint

    def read(path):
        model = tiny_model()
        adam = Adam(lr=config.lr, beta1=config.beta1, beta2=config.beta2, eps=config.eps)
        shuffle = np.random.default_rng(config.seed)
        state = _load_checkpoint(str(path), model, adam, shuffle, config)
        order = shuffle.permutation(len(TINY_X))[:4]
        _, dlogits = softmax_cross_entropy(model.forward(TINY_X[order], train=True), TINY_Y[order])
        model.backward(dlogits)
        adam.step(model.parameters())
        return state
    return read


def check_resumed(state):
    assert 1 <= state["epoch"] and len(state["history"]) == state["epoch"]
    assert all(np.isfinite(b).all() for b in state["best"])


def test_checkpoint_valid_sample_resumes(tmp_path, checkpoint_bytes):
    data, config = checkpoint_bytes
    assert attempt("checkpoint", read_and_resume(config), tmp_path / "c.npz", data,
                   check_resumed) == "loaded"


def test_checkpoint_truncated(tmp_path, checkpoint_bytes):
    """Cut at every length below 64 and every 23rd above (≈460 files). Every proper prefix of a
    zip archive has lost the end-of-central-directory record at its end, so all of them fail
    alike; cutting at every length (9 400 files, 34 s beside a training run) found nothing more."""
    data, config = checkpoint_bytes
    outcomes = {attempt("checkpoint", read_and_resume(config), tmp_path / "c.npz", d,
                        check_resumed) for d in truncations(data, 23)}
    assert outcomes == {"refused"}


def damaged_checkpoint(data):
    """A strategy: the checkpoint's arrays with one removed, replaced or its meta JSON damaged."""
    arrays = dict(np.load(io.BytesIO(data)))
    meta = json.loads(str(arrays["meta"]))
    replacements = st.sampled_from([
        np.zeros((2, 2), np.float32), np.full((3, 5), np.nan, np.float32),
        np.full((5,), np.inf, np.float32), np.full((3, 5), 3e38, np.float32),
        np.zeros((3, 5), np.int64), np.array("text"), np.array(7), np.array(-1.0),
        np.array(2.0), np.zeros(0), np.array(1e300), np.array([1, 2])])

    @st.composite
    def damaged(draw):
        out = dict(arrays)
        action = draw(st.sampled_from(["remove", "replace", "meta", "meta_raw", "add"]))
        key = draw(st.sampled_from(sorted(out)))
        if action == "remove":
            del out[key]
        elif action == "replace":
            out[key] = draw(replacements)
        elif action == "meta":
            out["meta"] = np.array(draw(damaged_json(meta)).decode())
        elif action == "meta_raw":
            out["meta"] = np.array(draw(st.text(max_size=30)))
        else:
            out[draw(st.text(min_size=1, max_size=6))] = draw(replacements)
        buf = io.BytesIO()
        np.savez(buf, **out)
        return buf.getvalue()
    return damaged()


@pytest.mark.parametrize("n", DEPTHS)
def test_checkpoint_damaged(tmp_path, checkpoint_bytes, n):
    data, config = checkpoint_bytes
    path = tmp_path / "c.npz"
    read = read_and_resume(config)

    @fuzz_settings(n)
    @given(damaged_checkpoint(data) | flips(data) | st.binary(max_size=300)
           | st.just(_npy(np.zeros(3))))
    def run(blob):
        attempt("checkpoint", read, path, blob, check_resumed,
                errors=(FileFormatError, ParameterError))
    run()


# --- model file (numser.model_file) -----------------------------------------------------------

@pytest.fixture(scope="module")
def model_file_bytes(tmp_path_factory):
    """The smallest model file: a DNN-ELM (141 060 weights, 574 KB) with an ELM fitted on random
    LLDs; training is irrelevant to the reader."""
    from numser.model_file import save_model_file
    from numser.models import build
    from numser.train import fit_elm
    rng = np.random.default_rng(0)
    model = build("dnn-elm", seed=0)
    x = rng.standard_normal((8, 198, 32)).astype(np.float32)
    y = np.arange(8) % 4
    fit_elm(model, x, y, x, y, hidden_grid=(8,), C_grid=(1.0,))
    path = tmp_path_factory.mktemp("model") / "m.npz"
    save_model_file(path, model, Standardiser().fit(x),
                    training={"corpora": ["c"], "speakers": {"train": ["c:1"], "val": ["c:2"]},
                              "val_ua": 0.5})
    return path.read_bytes()


def check_trained_model(trained):
    x = np.random.default_rng(2).standard_normal((2,) + trained.model.input_shape)
    p = trained.predict_proba(x.astype(np.float32))
    assert p.shape == (2, len(CLASSES)) and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-4)


def model_file_cuts(data, stride):
    """Short prefixes, every ``stride``-th length, and every 7th of the last 3 KB (zip directory)."""
    n = len(data)
    lengths = set(range(64)) | set(range(0, n, stride)) | set(range(max(0, n - 3072), n, 7))
    return [data[:k] for k in sorted(lengths)]


def test_model_file_valid_sample_loads(tmp_path, model_file_bytes):
    from numser.model_file import load_model_file
    assert attempt("model file", load_model_file, tmp_path / "m.npz", model_file_bytes,
                   check_trained_model) == "loaded"


@pytest.mark.parametrize("stride", [20011, pytest.param(997, marks=pytest.mark.slow, id="deep")])
def test_model_file_truncated(tmp_path, model_file_bytes, stride):
    from numser.model_file import load_model_file
    outcomes = {attempt("model file", load_model_file, tmp_path / "m.npz", d, check_trained_model)
                for d in model_file_cuts(model_file_bytes, stride)}
    assert outcomes == {"refused"}


def damaged_model_file(data):
    """A strategy: the model file's arrays with one removed or replaced, or its meta damaged."""
    arrays = dict(np.load(io.BytesIO(data)))
    meta = json.loads(str(arrays["meta"]))
    replacements = st.sampled_from([
        np.zeros((2, 2), np.float32), np.full((32,), np.nan, np.float32),
        np.full((32,), np.inf, np.float32), np.zeros(32, np.float32), np.zeros((32,), np.int64),
        np.array("text"), np.array(7), np.zeros(0), np.full((32,), 3e38, np.float32)])

    @st.composite
    def damaged(draw):
        out = dict(arrays)
        action = draw(st.sampled_from(["remove", "replace", "meta", "meta_inner", "add"]))
        key = draw(st.sampled_from(sorted(out)))
        if action == "remove":
            del out[key]
        elif action == "replace":
            out[key] = draw(replacements)
        elif action == "meta":
            out["meta"] = np.array(draw(damaged_json(meta)).decode())
        elif action == "meta_inner":
            field = draw(st.sampled_from(["config", "input", "features", "training", "elm"]))
            inner = json.loads(json.dumps(meta))
            if isinstance(inner.get(field), dict) and inner[field]:
                inner[field] = json.loads(draw(damaged_json(inner[field])).decode())
            out["meta"] = np.array(json.dumps(inner, allow_nan=True))
        else:
            out[draw(st.text(min_size=1, max_size=6))] = draw(replacements)
        buf = io.BytesIO()
        np.savez(buf, **out)
        return buf.getvalue()
    return damaged()


@pytest.mark.parametrize("n", [30, pytest.param(300, marks=pytest.mark.slow, id="deep")])
def test_model_file_damaged(tmp_path, model_file_bytes, n):
    from numser.model_file import load_model_file
    path = tmp_path / "m.npz"

    @fuzz_settings(n)
    @given(damaged_model_file(model_file_bytes) | flips(model_file_bytes)
           | st.binary(max_size=300) | st.just(_npy(np.zeros(3))))
    def run(blob):
        attempt("model file", load_model_file, path, blob, check_trained_model)
    run()


# --- split file (folds.csv, numser.folds.read_folds_csv) --------------------------------------

SPEAKERS = ("c:1", "c:2", "c:3", "d:1")
FOLDS_CSV = ("seed,fold,role,corpus,speaker\n"
             "0,0,train,c,1\n0,0,val,c,2\n0,0,test,c,3\n0,0,test,d,1\n"
             "0,1,train,c,2\n0,1,val,c,3\n0,1,test,c,1\n0,1,train,d,1\n"
             "0,2,train,c,3\n0,2,val,c,1\n0,2,test,c,2\n0,2,val,d,1\n").encode()


def read_folds(path):
    from numser.folds import read_folds_csv
    return read_folds_csv(path, SPEAKERS)


def check_folds(by_seed):
    assert by_seed
    for folds in by_seed.values():
        assert [f.index for f in folds] == list(range(len(folds)))
        for f in folds:
            assert f.train and f.val and f.test
            assert not (f.train & f.val or f.train & f.test or f.val & f.test)
            assert f.train | f.val | f.test == set(SPEAKERS)
            train_m, val_m, test_m = f.masks(list(SPEAKERS))
            assert (train_m.astype(int) + val_m + test_m == 1).all()


def test_folds_csv_truncated_at_every_length(tmp_path):
    loaded = [len(d) for d in truncations(FOLDS_CSV)
              if attempt("folds.csv", read_folds, tmp_path / "folds.csv", d, check_folds)
              == "loaded"]
    assert loaded == [len(FOLDS_CSV) - 1]   # only the final newline may go; any other cut loses
    #                                         a speaker's role or leaves a row incomplete
    assert attempt("folds.csv", read_folds, tmp_path / "folds.csv", FOLDS_CSV,
                   check_folds) == "loaded"


FOLD_CELLS = st.sampled_from(["0", "1", "2", "3", "-1", "01", "1.0", "x", "", " 0 ", "9" * 12,
                              "train", "val", "test", "TEST", "dev", "c", "d", "1", "c:1", "e",
                              "\u0660", "²", "\x00", '"']) | st.text(max_size=4)


@pytest.mark.parametrize("n", DEPTHS)
def test_folds_csv_damaged(tmp_path, n):
    path = tmp_path / "folds.csv"
    rows = [r.split(",") for r in FOLDS_CSV.decode().splitlines()]

    @st.composite
    def edited(draw):
        out = [list(r) for r in rows]
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(out) - 1))
            action = draw(st.sampled_from(["cell", "drop", "dup", "extra"]))
            if action == "cell" and out[i]:
                out[i][draw(st.integers(0, len(out[i]) - 1))] = draw(FOLD_CELLS)
            elif action == "drop":
                out.pop(i)
            elif action == "dup":
                out.insert(i, list(out[i]))
            else:
                out[i].append(draw(FOLD_CELLS))
            if not out:
                break
        buf = io.StringIO()
        csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(out)
        return buf.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"])),
                                     "replace")

    @fuzz_settings(n)
    @given(edited() | flips(FOLDS_CSV) | st.binary(max_size=200))
    def run(data):
        attempt("folds.csv", read_folds, path, data, check_folds)
    run()


# --- weights file (numser.train.save_model / load_model) --------------------------------------

@pytest.fixture(scope="module")
def weights_file_bytes(tmp_path_factory):
    """A DNN-ELM's weights and ELM as save_model writes them (574 KB)."""
    from numser.models import build
    from numser.train import fit_elm, save_model
    rng = np.random.default_rng(0)
    model = build("dnn-elm", seed=0)
    x = rng.standard_normal((8, 198, 32)).astype(np.float32)
    fit_elm(model, x, np.arange(8) % 4, x, np.arange(8) % 4, hidden_grid=(8,), C_grid=(1.0,))
    path = tmp_path_factory.mktemp("weights") / "w.npz"
    save_model(path, model)
    return path.read_bytes()


def check_weights_model(model):
    x = np.random.default_rng(2).standard_normal((2,) + model.input_shape).astype(np.float32)
    p = model.predict_proba(x)
    assert p.shape == (2, len(CLASSES)) and np.isfinite(p).all()


@pytest.mark.parametrize("n", [30, pytest.param(300, marks=pytest.mark.slow, id="deep")])
def test_weights_file_truncated_and_damaged(tmp_path, weights_file_bytes, n):
    from numser.train import load_model
    path = tmp_path / "w.npz"
    assert attempt("weights file", load_model, path, weights_file_bytes,
                   check_weights_model) == "loaded"
    outcomes = {attempt("weights file", load_model, path, d, check_weights_model)
                for d in model_file_cuts(weights_file_bytes, 20011 if n < DEEP else 997)}
    assert outcomes == {"refused"}
    arrays = dict(np.load(io.BytesIO(weights_file_bytes)))
    config = json.loads(str(arrays["config"]))

    @st.composite
    def damaged(draw):
        out = dict(arrays)
        action = draw(st.sampled_from(["remove", "replace", "config"]))
        key = draw(st.sampled_from(sorted(out)))
        if action == "remove":
            del out[key]
        elif action == "replace":
            out[key] = draw(st.sampled_from([np.zeros((2, 2)), np.array(np.nan), np.array("x"),
                                             np.full(4, np.inf), np.array(10**12)]))
        else:
            out["config"] = np.array(draw(damaged_json(config)).decode())
        buf = io.BytesIO()
        np.savez(buf, **out)
        return buf.getvalue()

    @fuzz_settings(n)
    @given(damaged() | flips(weights_file_bytes))
    def run(blob):
        attempt("weights file", load_model, path, blob, check_weights_model)
    run()
