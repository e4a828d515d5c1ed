"""Model inputs from audio: volumes, waveform segments, LLDs, standardiser, cache (docs/spec.md §2.5–2.6)."""
import hashlib
import json
import os
import sys
import time
import warnings

import numpy as np

from numser.atomic import atomic_open
from numser.audio import load_audio, normalise_gain, speaker_gain
from numser.errors import AudioError, FileFormatError, ParameterError
from numser.lld import low_level_descriptors
from numser.readers import is_number, read_json, read_npy, read_npz, require
from numser.stft import fix_length, log_spectrogram

#: Bump when a change alters any cached value, so old cache files are never read again.
FORMAT_VERSION = 1

#: Every number that defines a feature (docs/spec.md §2, §4); all of it goes into the cache key.
SETTINGS = {
    "segment": {"duration": 2.0},
    "volume": {"n_fft": 512, "hop_length": 320, "win_length": 512, "window": "hamming",
               "n_frames": 100, "eps": 1e-10, "shape": (10, 10, 256)},
    "waveform": {"shape": (20, 1600)},
    "lld": {"win_length": 400, "hop_length": 160, "shape": (198, 32)},
}
KINDS = ("volume", "waveform", "lld")
SEGMENT = 32000     # samples in the first 2 s at 16 kHz (docs/spec.md §2.3)


def _check_sr(sr):
    if sr != 16000:
        raise ParameterError(f"sr={sr!r}: the input shapes of docs/spec.md §2 and §4 are defined at "
                             "16 kHz; read the audio with load_audio(path, sr=16000)")


# ----------------------------------------------------------------------------- one utterance

def spectro_volume(y, *, sr=16000):
    """The 10×10×256 input volume of the 3D CNN: the log-spectrogram cut into 200 ms blocks.

    Equation
    --------
    P = log_spectrogram(y)                          (100, 256)   first 2 s, zero-padded
    V[l, t, s] = P[10 l + t, s]                     (10, 10, 256) l: 200 ms block, t: 20 ms frame
                                                                  in the block, s: frequency bin

    Parameters
    ----------
    y : np.ndarray, shape (..., n_samples), float32
        Gain-normalised utterance(s) at 16 kHz; leading axes are a batch.
    sr : int
        Must be 16000.

    Returns
    -------
    V : np.ndarray, shape (..., 10, 10, 256), float32   (L, T, S)

    Raises
    ------
    ParameterError
        If sr is not 16000 or y is empty, not floating or not finite.

    Notes
    -----
    docs/spec.md §2.3–2.5: L × T × S = 10 × 10 × 256.
    """
    _check_sr(sr)
    s = SETTINGS["volume"]
    P = log_spectrogram(y, sr=sr, duration=SETTINGS["segment"]["duration"], n_fft=s["n_fft"],
                        hop_length=s["hop_length"], win_length=s["win_length"],
                        window=s["window"], n_frames=s["n_frames"], eps=s["eps"])  # (..., 100, 256)
    return P.reshape(P.shape[:-2] + s["shape"])                     # (..., 10, 10, 256)


def waveform_segments(y, *, sr=16000):
    """The raw first 2 s, zero-padded, cut into 20 sub-sequences of 1 600 samples (100 ms).

    Equation
    --------
    W[i, k] = ỹ[1600 i + k],  ỹ = first 32 000 samples of y, zero-padded      (20, 1600)

    Parameters
    ----------
    y : np.ndarray, shape (..., n_samples), float32
        Gain-normalised utterance(s) at 16 kHz.
    sr : int
        Must be 16000.

    Returns
    -------
    W : np.ndarray, shape (..., 20, 1600), float32

    Notes
    -----
    docs/spec.md §4, 1D-CNN-LSTM baseline (Trigeorgis et al. 2016): the same 2 s the 3D CNN sees.
    """
    _check_sr(sr)
    y = fix_length(np.asarray(y, dtype=np.float32), SEGMENT)                    # (..., 32000)
    return y.reshape(y.shape[:-1] + SETTINGS["waveform"]["shape"])              # (..., 20, 1600)


def lld_sequence(y, *, sr=16000):
    """The 32 low-level descriptors of the zero-padded first 2 s, shape (198, 32), float32.

    See :func:`numser.lld.low_level_descriptors`; 198 = 1 + (32 000 − 400) // 160 frames.
    """
    _check_sr(sr)
    s = SETTINGS["lld"]
    segment = fix_length(np.asarray(y, dtype=np.float32), SEGMENT)              # (32000,)
    return low_level_descriptors(segment, sr=sr, win_length=s["win_length"],
                                 hop_length=s["hop_length"])                    # (198, 32)


#: Utterances per feature call. Small batches keep every temporary array small enough to be
#: recycled by the allocator; whole-speaker batches page-faulted ~0.25 s more per corpus pass.
_BATCH = 4


def _features_of(kind, segments, sr):
    """Features of a batch of gain-normalised 2 s segments (n, 32000) → (n,) + shape."""
    if kind == "volume":
        return spectro_volume(segments, sr=sr)       # one batched STFT
    if kind == "waveform":
        return waveform_segments(segments, sr=sr)
    return np.stack([lld_sequence(s, sr=sr) for s in segments])


def utterance_features(y, kind, lo, hi, *, sr=16000):
    """The features of one utterance given its speaker's gain range, as the corpus scan makes them.

    Equation
    --------
    z = fix_length(normalise_gain(y[:32000], lo, hi), 32000)       (docs/spec.md §2.2–2.3)
    F = spectro_volume(z) | waveform_segments(z) | lld_sequence(z)

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        The utterance at 16 kHz, mono (:func:`numser.audio.load_audio`).
    kind : {"volume", "waveform", "lld"}
    lo, hi : float
        The speaker's sample range (:func:`numser.audio.speaker_gain`); ``y.min(), y.max()``
        normalises the utterance on its own.

    Returns
    -------
    F : np.ndarray, shape :data:`SETTINGS` [kind]["shape"], float32

    Notes
    -----
    :func:`extract_features` computes the same values for a whole corpus with a cache; this is
    the one-utterance path ``numser.predict`` uses, so a file's features do not depend on the
    other files given with it (beyond its speaker's gain).
    """
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r}: choose one of {list(KINDS)}")
    _check_sr(sr)
    z = fix_length(normalise_gain(np.asarray(y, dtype=np.float32)[:SEGMENT], lo, hi), SEGMENT)
    return _features_of(kind, z[None], sr)[0]


# ----------------------------------------------------------------------------- standardiser

class Standardiser:
    """Per-feature standardisation with statistics of the training data only.

    Equation
    --------
    μ_f = mean of X[..., f] over every other axis,   σ_f = its standard deviation (ddof 0),
    Z[..., f] = (X[..., f] − μ_f) / σ_f              (σ_f = 0 is replaced by 1, with a warning)

    Attributes
    ----------
    mean, std : np.ndarray, shape (F,), float32, or None before :meth:`fit`
        F = 256 bins for volumes (N, L, T, S), 32 descriptors for LLDs (N, frames, 32).

    Notes
    -----
    docs/spec.md §2.6: each of the 256 bins is standardised with the mean and standard deviation of the
    fold's training split; validation and test data reuse those statistics.
    """

    def __init__(self, mean=None, std=None):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)

    def __repr__(self):
        size = "unfitted" if self.mean is None else f"{self.mean.shape[0]} features"
        return f"Standardiser({size})"

    def fit(self, X):
        """Compute μ and σ per feature (last axis) of X, shape (..., F); return self."""
        X = np.asarray(X)
        if X.ndim < 1 or X.size == 0:
            raise ParameterError(f"X of shape {X.shape}: need at least one row of features")
        if not np.isfinite(X).all():
            raise ParameterError("X holds NaN or infinite values; check the feature extraction")
        rows = X.reshape(-1, X.shape[-1])                           # (rows, F)
        mean = rows.mean(axis=0, dtype=np.float64)                  # (F,)
        # Second pass in chunks: float64 accuracy without a float64 copy of the whole X.
        sq = np.zeros_like(mean)
        for start in range(0, rows.shape[0], 65536):
            d = rows[start:start + 65536].astype(np.float64) - mean
            sq += (d * d).sum(axis=0)
        std = np.sqrt(sq / rows.shape[0])
        flat = np.flatnonzero(std == 0)
        if flat.size:
            warnings.warn(f"{flat.size} feature(s) have zero standard deviation in the training "
                          f"data (indices {flat[:10].tolist()}{'…' if flat.size > 10 else ''}); "
                          "they are only centred (std set to 1)", RuntimeWarning, stacklevel=2)
            std[flat] = 1.0
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)
        return self

    def transform(self, X):
        """(X − μ) / σ on the last axis; the dtype of X is kept (float32 stays float32)."""
        if self.mean is None:
            raise ParameterError("Standardiser is not fitted: call fit(X_train) first")
        X = np.asarray(X)
        if X.ndim < 1 or X.shape[-1] != self.mean.shape[0]:
            raise ParameterError(f"X of shape {X.shape}: its last axis must have "
                                 f"{self.mean.shape[0]} features, as in the fitted data")
        return (X - self.mean.astype(X.dtype)) / self.std.astype(X.dtype)

    def fit_transform(self, X):
        """fit(X) then transform(X)."""
        return self.fit(X).transform(X)

    def save(self, path):
        """Write mean and std to an .npz file."""
        if self.mean is None:
            raise ParameterError("Standardiser is not fitted: nothing to save")
        np.savez(path, mean=self.mean, std=self.std)

    @classmethod
    def load(cls, path):
        """Read a Standardiser written by :meth:`save`; FileFormatError naming a damaged file."""
        arrays = read_npz(path, "standardiser file")
        mean, std = arrays.get("mean"), arrays.get("std")
        require(mean is not None and std is not None and mean.ndim == 1 and mean.size > 0
                and mean.shape == std.shape and mean.dtype.kind == std.dtype.kind == "f", path,
                "must hold float arrays 'mean' and 'std' of one equal length")
        require(np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all(), path,
                "'mean' must be finite and 'std' finite and > 0")
        return cls(mean, std)


# ----------------------------------------------------------------------------- cache

def read_range_entry(path):
    """A cache entry ``range/<key>.json``: ``{"lo": float, "hi": float}`` or ``{"error": str}``.

    Raises
    ------
    FileFormatError
        Naming the file, when it is not such an object (damaged, cut off, lo > hi, NaN or
        infinite bounds). The cache counts the entry as unreadable and recomputes it.
    """
    entry = read_json(path, "feature-cache entry")
    require(isinstance(entry, dict), path, "damaged feature-cache entry: not a JSON object")
    if "error" in entry:
        require(isinstance(entry["error"], str), path, "must be a string", "field 'error'")
        return {"error": entry["error"]}
    lo, hi = entry.get("lo"), entry.get("hi")
    require(is_number(lo) and is_number(hi) and lo <= hi, path,
            f"must hold finite numbers lo <= hi (a file's sample range), found lo={lo!r}, "
            f"hi={hi!r}", "fields 'lo', 'hi'")
    return {"lo": float(lo), "hi": float(hi)}


def read_feature_entry(path, shape):
    """A cache entry ``<kind>/<key>.npy``: one utterance's features, float32 of ``shape``, finite.

    Raises
    ------
    FileFormatError
        Naming the file, when it is damaged or holds another shape, dtype or non-finite values.
    """
    x = read_npy(path, "feature-cache entry")
    require(x.shape == tuple(shape) and x.dtype == np.float32, path,
            f"holds {x.dtype} of shape {x.shape}, expected float32 of shape {tuple(shape)}")
    require(np.isfinite(x).all(), path, "holds NaN or infinite values")
    return x


def _file_identity(path):
    """(absolute path, size, mtime_ns) of a file, or None when it cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [os.path.abspath(path), st.st_size, st.st_mtime_ns]


class _Cache:
    """Feature files on disk, named by a hash of everything that determines their content.

    Two kinds of entry:
      range/<key>.json   the min and max sample of one file (or why it failed), keyed by the
                         file identity and sr: enough to compute a speaker's gain without decoding;
      <kind>/<key>.npy   one utterance's features, keyed by the file identity, the speaker's gain
                         (lo, hi) and the feature settings. A changed file changes its range, maybe
                         the speaker's gain, and so exactly the entries that depend on it.
    Writes go to a temporary file in the same folder and are renamed into place (os.replace is
    atomic), so a killed run leaves whole files or none; unreadable files are recomputed.
    """

    def __init__(self, root):
        self.root = os.fspath(root)
        self.read = self.written = self.corrupt = 0

    @staticmethod
    def key(*parts):
        text = json.dumps([FORMAT_VERSION, *parts], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, folder, key, ext):
        return os.path.join(self.root, folder, key + ext)

    def _write(self, path, write):
        with atomic_open(path) as f:
            write(f)
        self.written += 1

    def get_range(self, key):
        path = self._path("range", key, ".json")
        if not os.path.exists(path):
            return None
        try:
            entry = read_range_entry(path)
        except FileFormatError:
            self.corrupt += 1                  # recomputed and rewritten by the caller
            return None
        self.read += 1
        return entry

    def put_range(self, key, entry):
        data = json.dumps(entry).encode()
        self._write(self._path("range", key, ".json"), lambda f: f.write(data))

    def get_features(self, folder, key, shape):
        path = self._path(folder, key, ".npy")
        if not os.path.exists(path):
            return None
        try:
            x = read_feature_entry(path, shape)
        except FileFormatError:
            self.corrupt += 1
            return None
        self.read += 1
        return x

    def put_features(self, folder, key, x):
        self._write(self._path(folder, key, ".npy"), lambda f: np.save(f, x, allow_pickle=False))


# ----------------------------------------------------------------------------- progress

class _Progress:
    """A line on stderr every few seconds: done/total, rate, ETA; and one line per bad file."""

    def __init__(self, total, label, enabled, every=3.0):
        self.total, self.label, self.enabled, self.every = total, label, enabled, every
        self.done = 0
        self.start = self.last = time.monotonic()

    def say(self, text):
        if self.enabled:
            print(f"{self.label}: {text}", file=sys.stderr, flush=True)

    def update(self, n=1):
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / max(rate, 1e-9)
            self.say(f"{self.done}/{self.total} files, {rate:.1f} files/s, ETA {eta:.0f} s")


# ----------------------------------------------------------------------------- corpus scan

class _Scan:
    """The state of one :func:`extract_features` run: the feature rows filled so far, which are
    good, why files were skipped, the cache and the progress line."""

    def __init__(self, kind, sr, cache, report, n):
        self.kind, self.sr, self.cache, self.report = kind, sr, cache, report
        self.shape = SETTINGS[kind]["shape"]
        self.settings = {"kind": kind, "sr": sr, **SETTINGS["segment"], **SETTINGS[kind]}
        self.out = np.empty((n,) + self.shape, dtype=np.float32)   # (N, ...) filled per speaker
        self.good = np.zeros(n, dtype=bool)
        self.reasons = []

    def skip(self, i, message):
        self.reasons.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)    # at extract_features' caller
        self.report.say(f"skipped {message}")
        self.report.update()

    def sample_ranges(self, utterances, members):
        """Pass 1: each file's sample range, from the cache or by decoding.

        Returns ({i: (lo, hi)} of the readable files, {i: first 2 s} of those decoded now (kept
        for pass 2), {i: file identity}); unreadable files are skipped.
        """
        cache, sr = self.cache, self.sr
        ranges, heads, ids = {}, {}, {}
        for i in members:
            path = os.fspath(utterances[i].path)
            ids[i] = _file_identity(path)
            range_key = cache.key("range", ids[i], sr) if cache and ids[i] else None
            entry = cache.get_range(range_key) if range_key else None
            if entry is None:
                try:
                    y = load_audio(path, sr=sr)
                    entry = {"lo": float(y.min()), "hi": float(y.max())}
                    heads[i] = y[:SEGMENT].copy()   # keep 2 s, free the rest: less memory churn
                except AudioError as e:
                    entry = {"error": str(e)}
                if range_key:
                    cache.put_range(range_key, entry)
            if "error" in entry:
                self.skip(i, entry["error"])
            else:
                ranges[i] = (entry["lo"], entry["hi"])
        return ranges, heads, ids

    def features(self, utterances, ranges, heads, ids, lo, hi):
        """Pass 2: one speaker's features, from the cache or computed in one batch."""
        cache, sr, kind = self.cache, self.sr, self.kind
        todo = []
        for i in ranges:
            key = cache.key(self.settings, ids[i], float.hex(lo), float.hex(hi)) \
                if cache and ids[i] else None
            x = cache.get_features(kind, key, self.shape) if key else None
            if x is None:
                todo.append((i, key))
            else:
                self.out[i], self.good[i] = x, True
                self.report.update()
        segments, computed = [], []
        for i, key in todo:
            if i not in heads:
                try:
                    heads[i] = load_audio(os.fspath(utterances[i].path), sr=sr)[:SEGMENT]
                except AudioError as e:                             # changed since pass 1
                    self.skip(i, str(e))
                    continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)     # silent speaker: warned above
                segments.append(fix_length(normalise_gain(heads.pop(i), lo, hi), SEGMENT))
            computed.append((i, key))
        rows = [i for i, _ in computed]
        for start in range(0, len(rows), _BATCH):
            part = rows[start:start + _BATCH]
            self.out[part] = _features_of(kind, np.stack(segments[start:start + _BATCH]), sr)
            self.good[part] = True
        for i, key in computed:
            if key:
                cache.put_features(kind, key, self.out[i])
            self.report.update()


def extract_features(utterances, kind, *, sr=16000, cache_dir=None, progress=True):
    """Features of every readable utterance, gain-normalised per speaker, optionally cached.

    Equation
    --------
    For each speaker s with readable utterances U_s (in ``utterances``):
        lo_s = min_{u ∈ U_s} min_n y_u[n],  hi_s = max_{u ∈ U_s} max_n y_u[n]      (docs/spec.md §2.2)
        z_u = normalise_gain(y_u, lo_s, hi_s)[:32000], zero-padded to 32 000      (docs/spec.md §2.3)
        F_u = spectro_volume(z_u) | waveform_segments(z_u) | lld_sequence(z_u)

    Parameters
    ----------
    utterances : sequence of objects with attributes ``path`` (str or PathLike) and ``speaker``
        (str, e.g. "emodb:03"), length N.
    kind : {"volume", "waveform", "lld"}
        "volume" → (N', 10, 10, 256) log-spectrogram volumes (3D CNN, 2D-CNN baselines);
        "waveform" → (N', 20, 1600) raw segments (1D-CNN-LSTM); "lld" → (N', 198, 32) low-level
        descriptors (DNN-ELM, LSTM-ELM). Every kind sees the same gain-normalised 2 s.
    sr : int
        Must be 16000.
    cache_dir : str or PathLike or None
        Folder for the feature cache (created if needed); None disables caching. A second run
        over unchanged files reads everything from it without decoding any audio.
    progress : bool
        Print a progress line to stderr every few seconds, and one line per skipped file.

    Returns
    -------
    features : np.ndarray, shape (N',) + feature shape, float32
        N' = len(kept) readable utterances, in the order of ``utterances``.
    kept : np.ndarray, shape (N',), int64
        Indices into ``utterances`` of the rows of ``features``.

    Raises
    ------
    ParameterError
        For an unknown kind, sr ≠ 16000, an empty sequence, an utterance without ``path`` or
        ``speaker``, or when no utterance could be read at all.

    Warns
    -----
    RuntimeWarning
        Once per unreadable file (the AudioError message: file and reason; the file is skipped),
        and once per silent speaker (all their samples equal: zeros after the gain).

    Notes
    -----
    docs/spec.md §2. The gain of a speaker is taken over their utterances that are passed in, so pass
    all of a corpus's utterances (not one fold's) to get the paper's per-speaker normalisation.
    """
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r}: choose one of {list(KINDS)}")
    _check_sr(sr)
    utterances = list(utterances)
    if not utterances:
        raise ParameterError("extract_features got no utterances: pass a non-empty sequence")
    speakers = {}
    for i, u in enumerate(utterances):
        if not (hasattr(u, "path") and hasattr(u, "speaker")):
            raise ParameterError(f"utterance {i} ({u!r}) has no 'path' and 'speaker' attributes")
        speakers.setdefault(str(u.speaker), []).append(i)

    scan = _Scan(kind, sr, _Cache(cache_dir) if cache_dir is not None else None,
                 _Progress(len(utterances), f"extract_features({kind})", progress), len(utterances))
    for speaker, members in speakers.items():
        ranges, heads, ids = scan.sample_ranges(utterances, members)
        if not ranges:
            continue
        # each file's (min, max) pair has the file's range: the speaker's gain is that of the pairs
        lo, hi = speaker_gain(np.array(r) for r in ranges.values())
        if hi == lo:
            warnings.warn(f"speaker {speaker!r}: all samples of their {len(ranges)} utterance(s) "
                          f"equal {lo!r} (silent speaker); their features are those of zeros",
                          RuntimeWarning, stacklevel=2)
        scan.features(utterances, ranges, heads, ids, lo, hi)
    out, good, reasons, cache, report = scan.out, scan.good, scan.reasons, scan.cache, scan.report
    kept = np.flatnonzero(good)
    if kept.size == 0:
        first = "; ".join(reasons[:3])
        raise ParameterError(f"none of the {len(utterances)} utterances could be read "
                             f"(first reasons: {first}); check the corpus paths")
    elapsed = time.monotonic() - report.start
    summary = f"{kept.size}/{len(utterances)} utterances in {elapsed:.1f} s"
    if len(reasons):
        summary += f", {len(reasons)} skipped"
    if cache:
        summary += (f"; cache {cache.root}: {cache.read} read, {cache.written} written"
                    + (f", {cache.corrupt} unreadable (recomputed)" if cache.corrupt else ""))
    report.say(summary)
    return (out if kept.size == len(utterances) else out[kept]), kept
