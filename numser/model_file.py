"""The self-contained model file: everything needed to classify new audio, in one ``.npz``.

A model file holds the weights (the names of :func:`numser.train.model_arrays`: ``param_<i>``,
``config``, ``elm_<field>``), the training split's standardiser (``scaler_mean``,
``scaler_std``) and one JSON document ``meta``: format and format version, numser version and git
commit, method and configuration, the feature settings (sample rate, segment, STFT or LLD
parameters, input shape), the class order, the corpora and speakers trained and validated on,
and the validation UA. It loads with ``allow_pickle=False``. docs/predict.md describes each field.

:func:`load_model_file` is total: any bytes either load as a model that predicts, or raise
:class:`numser.errors.FileFormatError` naming the file and the reason (another format version,
other feature settings, a damaged archive, a missing or misshapen array, ...).
"""
import datetime
import io
import json
import os
import platform
import subprocess
import zipfile
from dataclasses import asdict, dataclass

import llvmlite.binding
import numba
import numpy as np
import numpy.lib.format as npy_format

from numser import CLASSES, __version__
from numser.atomic import savez
from numser.elm import utterance_functionals
from numser.errors import FileFormatError, ParameterError
from numser.features import FORMAT_VERSION as FEATURES_VERSION
from numser.features import SEGMENT, SETTINGS, Standardiser
from numser.models import check_saved_config
from numser.train import model_arrays, model_from_arrays

FORMAT = "numser-model"
#: Bump when the layout or the meaning of a field changes; other versions are refused.
FORMAT_VERSION = 1
#: No array of a model file is larger (the biggest model, 1D-CNN-LSTM 256, is ~9 MB).
MAX_ARRAY_BYTES = 1 << 30
#: Largest |mean| and std a standardiser of numser's features can have: log spectra and the LLDs
#: (F0 in Hz, MFCCs, energies) stay below a thousand (at most 508 on EMOVO and URDU). A larger
#: one, finite as it may be, would push real features to values the network overflows on (NaN
#: posteriors, no error).
MAX_FEATURE_SCALE = 1e6


@dataclass
class TrainedModel:
    """A model with what it needs to classify features: standardiser and provenance.

    Attributes
    ----------
    model : numser.models.Model
        The network, with its ELM when the method has one.
    standardiser : numser.features.Standardiser or None
        Statistics of the training split (None for waveform input, which is not standardised).
    meta : dict
        The file's ``meta`` document (see docs/predict.md).
    """

    model: object
    standardiser: object
    meta: dict

    @property
    def input_kind(self):
        """'volume', 'lld' or 'waveform': what :func:`numser.features.extract_features` makes."""
        return self.model.input_kind

    def predict_proba(self, features, batch_size=256):
        """Class posteriors (N, 4) in ``numser.CLASSES`` order from raw features (N, *input_shape)."""
        x = np.asarray(features, dtype=np.float32)
        self.model.check_input(x)
        if self.standardiser is not None:
            x = self.standardiser.transform(x).astype(np.float32)
        return self.model.predict_proba(x, batch_size)


def git_commit(path=None):
    """The short commit of the git checkout holding ``path`` (default: the numser package), with
    ``-dirty`` when tracked files below ``path`` differ from it, or ``"unknown"`` outside a
    checkout. Results record it, so the mark says when the code that computed them was not the
    commit's."""
    path = path or os.path.dirname(os.path.abspath(__file__))

    def git(*args):
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=path,
                              timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = commit and git("status", "--porcelain", "--untracked-files=no", "--", ".")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit + "-dirty" * bool(changed)) if commit else "unknown"


def machine():
    """Where a result is computed: host name, CPU model, the CPU Numba compiles its kernels for
    (their machine code, so possibly their rounding, depends on it) and the number of cores."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:     # Linux names the model here
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"host": platform.node(), "cpu": cpu or "unknown",
            "llvm_cpu": numba.config.CPU_NAME or llvmlite.binding.get_host_cpu_name(),
            "cores": os.cpu_count()}


def feature_settings(kind):
    """Every number that defines the input of a ``kind`` model, as plain JSON values."""
    settings = {"kind": kind, "sample_rate": 16000, "mono": "mean of the channels",
                "gain": "per speaker: the min and max sample over all of the speaker's "
                        "utterances map to -1 and +1",
                "segment_samples": SEGMENT, "segment": SETTINGS["segment"],
                kind: SETTINGS[kind], "features_version": FEATURES_VERSION}
    return json.loads(json.dumps(settings))


def save_model_file(path, model, standardiser, *, training):
    """Write ``model`` with its standardiser and provenance to ``path`` (atomically).

    The arguments are those of :func:`model_file_bytes`, which gives the same file as bytes.

    Parameters
    ----------
    path : str or PathLike
        The ``.npz`` to write.
    model : numser.models.Model
        Trained; per-step (``-elm``) methods must have their ELM fitted.
    standardiser : numser.features.Standardiser or None
        Fitted on the training split; None only for waveform input.
    training : dict
        Provenance, stored as ``meta["training"]``: at least ``corpora`` (list), ``speakers``
        (``{"train": [...], "val": [...]}``) and ``val_ua`` (float); anything JSON-serialisable
        may be added (epochs, seed, learning rate, protocol, held-out corpus, ...).
    """
    savez(path, **_model_file_arrays(model, standardiser, training))


def model_file_bytes(model, standardiser, *, training):
    """The bytes of the model file :func:`save_model_file` writes (to ship or store elsewhere)."""
    buffer = io.BytesIO()
    np.savez(buffer, **_model_file_arrays(model, standardiser, training))
    return buffer.getvalue()


def _model_file_arrays(model, standardiser, training):
    if model.per_step and model.elm is None:
        raise ParameterError(f"{model.config.method} classifies with its ELM: fit it "
                             "(numser.train.fit_elm) before saving the model file")
    if (standardiser is None) != (model.input_kind == "waveform"):
        raise ParameterError(f"{model.config.method} reads '{model.input_kind}' input: "
                             + ("it needs the training split's standardiser"
                                if standardiser is None else "it takes no standardiser"))
    missing = {"corpora", "speakers", "val_ua"} - set(training)
    if missing:
        raise ParameterError(f"training provenance lacks {sorted(missing)}")
    arrays = model_arrays(model)
    if standardiser is not None:
        arrays.update(scaler_mean=standardiser.mean, scaler_std=standardiser.std)
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "numser_version": __version__, "git_commit": git_commit(), "machine": machine(),
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": model.config.method, "label": model.config.label(),
        "config": asdict(model.config), "n_params": int(model.n_params()),
        "input": {"kind": model.input_kind, "shape": list(model.input_shape)},
        "features": feature_settings(model.input_kind),
        "classes": list(CLASSES),
        "elm": None if model.elm is None else {"n_hidden": int(model.elm.n_hidden),
                                               "C": float(model.elm.C)},
        "training": training,
    }
    arrays["meta"] = np.array(json.dumps(meta, default=_plain))
    return arrays


def _plain(value):
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (np.ndarray, set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(np.asarray(value).tolist())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --- reading ------------------------------------------------------------------------------

def load_model_file(path):
    """Read a model file written by :func:`save_model_file`.

    Returns
    -------
    TrainedModel

    Raises
    ------
    FileFormatError
        For anything but a whole model file of this format version whose feature settings are
        the ones this numser computes; the message names the file and the reason.
    """
    path = os.fspath(path)
    try:
        return _load(path)
    except FileFormatError:
        raise
    except Exception as e:       # noqa: BLE001 — whatever the bytes, one kind of error
        raise FileFormatError(path, f"damaged or not a numser model file ({type(e).__name__}: "
                                    f"{_short(e)})") from None


def _short(e, limit=200):
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _load(path):
    if not os.path.exists(path):
        raise FileFormatError(path, "file not found")
    if not os.path.isfile(path):
        raise FileFormatError(path, "not a regular file")
    if not zipfile.is_zipfile(path):
        raise FileFormatError(path, "not a numser model file (not an .npz archive)")
    _check_members(path)
    with np.load(path, allow_pickle=False) as data:
        meta = _read_meta(path, data)
        config = check_saved_config(path, meta.get("config"))
        if config["method"] != meta["method"]:
            raise FileFormatError(path, f"method {meta['method']!r} but a {config['method']!r} "
                                        "configuration", where="meta")
        arrays = {k: data[k] for k in data.files if k != "meta"}
    return _build(path, meta, config, arrays)


_HEADER_READERS = {(1, 0): npy_format.read_array_header_1_0,
                   (2, 0): npy_format.read_array_header_2_0}


def _check_members(path):
    """Every member is an ``.npy`` whose header promises exactly the bytes it holds."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                raise FileFormatError(path, f"unexpected member {info.filename!r}")
            if info.file_size > MAX_ARRAY_BYTES:
                raise FileFormatError(path, f"member {info.filename!r} is {info.file_size} bytes, "
                                            f"more than any model holds")
            with zf.open(info) as f:
                version = npy_format.read_magic(f)
                if version not in _HEADER_READERS:
                    raise FileFormatError(path, f"member {info.filename!r}: .npy version "
                                                f"{version} is not one np.save writes")
                shape, _, dtype = _HEADER_READERS[version](f)
                if dtype.hasobject:
                    raise FileFormatError(path, f"member {info.filename!r} holds Python objects")
                need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                have = info.file_size - f.tell()
                if need != have:
                    raise FileFormatError(path, f"member {info.filename!r} is damaged: its header "
                                                f"declares {need} bytes of data, it holds {have}")


def _read_meta(path, data):
    if "meta" not in data.files:
        raise FileFormatError(path, "not a numser model file (no 'meta' document); a checkpoint "
                                    "or save_model file is not a model file")
    raw = data["meta"]
    if raw.dtype.kind != "U" or raw.ndim != 0:
        raise FileFormatError(path, "'meta' is not a text document", where="meta")
    meta = json.loads(str(raw))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FileFormatError(path, f"not a numser model file (format is not {FORMAT!r})",
                              where="meta")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise FileFormatError(path, f"model file format version {version!r}; this numser "
                                    f"({__version__}) reads version {FORMAT_VERSION}: retrain "
                                    f"with this version (python -m numser.train)", where="meta")
    if meta.get("classes") != list(CLASSES):
        raise FileFormatError(path, f"class order {meta.get('classes')!r} is not "
                                    f"{list(CLASSES)}", where="meta.classes")
    kind = (meta.get("input") or {}).get("kind") if isinstance(meta.get("input"), dict) else None
    if kind not in ("volume", "lld", "waveform"):
        raise FileFormatError(path, f"unknown input kind {kind!r}", where="meta.input")
    if meta.get("features") != feature_settings(kind):
        raise FileFormatError(path, "made with feature settings other than this numser "
                                    "computes; retrain with this version", where="meta.features")
    for field in ("method", "label", "numser_version", "git_commit"):
        if not isinstance(meta.get(field), str):
            raise FileFormatError(path, f"'{field}' is missing or not text", where="meta")
    _check_training(path, meta.get("training"))
    return meta


def _check_training(path, training):
    """The provenance every reader relies on: corpora, speakers and the validation UA."""
    def strings(value):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not isinstance(training, dict):
        raise FileFormatError(path, "no training provenance", where="meta.training")
    speakers = training.get("speakers")
    if not (strings(training.get("corpora")) and isinstance(speakers, dict)
            and strings(speakers.get("train")) and strings(speakers.get("val"))):
        raise FileFormatError(path, "corpora or speakers missing or not lists of names",
                              where="meta.training")
    ua = training.get("val_ua")
    if isinstance(ua, bool) or not isinstance(ua, (int, float)) or not 0 <= ua <= 1:
        raise FileFormatError(path, f"validation UA {ua!r} is not a number in [0, 1]",
                              where="meta.training")


def _build(path, meta, config, arrays):
    try:
        model = model_from_arrays(arrays, config)
    except (ParameterError, KeyError) as e:
        raise FileFormatError(path, f"weights do not fit the architecture ({_short(e)})") from None
    n = len(model.parameters())
    extra = sorted(k for k in arrays if k.startswith("param_") and k not in
                   {f"param_{i}" for i in range(n)})
    if extra:
        raise FileFormatError(path, f"{len(extra)} weight arrays more than the architecture has")
    if model.input_kind != meta["input"]["kind"] \
            or list(model.input_shape) != meta["input"].get("shape"):
        raise FileFormatError(path, "input kind or shape disagrees with the method",
                              where="meta.input")
    if not all(np.isfinite(p).all() for p, _ in model.parameters()):
        raise FileFormatError(path, "weights hold NaN or infinite values")
    if model.per_step:
        if model.elm is None:
            raise FileFormatError(path, f"{config['method']} needs its ELM; the file has none")
        d = utterance_functionals(np.full((1, 2, len(CLASSES)), 0.25)).shape[1]
        elm = model.elm
        if elm.A.shape[0] != d or elm.beta.shape != (elm.n_hidden, len(CLASSES)) \
                or not all(np.isfinite(a).all() for a in (elm.A, elm.b, elm.beta)):
            raise FileFormatError(path, f"ELM arrays are misshapen or not finite "
                                        f"(A {elm.A.shape}, beta {elm.beta.shape})")
    scaler = None
    if model.input_kind != "waveform":
        mean, std = arrays.get("scaler_mean"), arrays.get("scaler_std")
        width = model.input_shape[-1]
        if mean is None or std is None or mean.shape != (width,) or std.shape != (width,) \
                or not (np.all(np.abs(mean) <= MAX_FEATURE_SCALE)
                        and np.all((std > 0) & (std <= MAX_FEATURE_SCALE))):
            raise FileFormatError(path, f"needs the training standardiser: scaler_mean and "
                                        f"scaler_std of shape ({width},), |mean| <= "
                                        f"{MAX_FEATURE_SCALE:g}, 0 < std <= {MAX_FEATURE_SCALE:g}")
        scaler = Standardiser(mean, std)
    return TrainedModel(model, scaler, meta)
