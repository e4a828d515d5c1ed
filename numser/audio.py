"""Read audio as 16 kHz mono float32 and normalise its gain per speaker (docs/spec.md §2.1–2.2)."""
import os
import stat
import warnings
from fractions import Fraction

import numpy as np
import soundfile as sf

from numser.errors import AudioError, ParameterError

#: Largest up or down factor of the exact resampling ratio (sr / sr_orig in lowest terms). Every
#: common rate (8 kHz … 384 kHz, 11.025 kHz family included) needs at most 441 for 16 kHz; an odd
#: rate like 44101 Hz would need a 16000/44101 polyphase filter of ~900 000 taps, and a damaged
#: header's 2^31 - 1 Hz one of 320 GiB.
MAX_RESAMPLE_FACTOR = 10000

#: What the corpus scan does with a file that fails; ends every AudioError message.
_NEXT_STEP = "check or re-export the file, or drop it from the manifest (the corpus scan skips it)"


def _fail(path, reason):
    """An AudioError naming the file, the reason and the next step."""
    return AudioError(f"{path}: {reason}; {_NEXT_STEP}")


#: Frames decoded per read (65 s at 16 kHz): memory follows the decoded data, not the header.
_DECODE_BLOCK = 1 << 20


def _decode(path):
    """Decode every frame of ``path`` as float32, shape (n_samples, n_channels), and its rate.

    Split out so tests can replace the decoder (e.g. to prove that a cached run decodes nothing).
    """
    try:
        with sf.SoundFile(path) as f:
            declared, orig_sr = f.frames, f.samplerate
            # in blocks, not f.read() at once: that allocates what the header declares, and a
            # damaged header can declare billions of frames (a 32 GiB MemoryError, test_fuzz)
            blocks = [f.read(_DECODE_BLOCK, dtype="float32", always_2d=True)]
            while len(blocks[-1]) == _DECODE_BLOCK:
                blocks.append(f.read(_DECODE_BLOCK, dtype="float32", always_2d=True))
            x = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)   # (n_samples, n_channels)
    except sf.LibsndfileError as e:
        text = str(e)
        if "Format not recognised" in text or "unknown format" in text.lower():
            raise _fail(path, f"not an audio file libsndfile can read ({text})") from None
        raise _fail(path, f"corrupt or truncated audio ({text})") from None
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        raise _fail(path, f"corrupt or truncated audio ({type(e).__name__}: {e})") from None
    # libsndfile sometimes returns a short read instead of an error for a cut-off file.
    if declared > 0 and x.shape[0] < declared:
        raise _fail(path, f"truncated audio: the header declares {declared} frames, "
                          f"only {x.shape[0]} could be decoded")
    return x, orig_sr


def load_audio(path, *, sr=16000):
    """Read an audio file as mono float32 at ``sr`` Hz.

    Equation
    --------
    Mono:      y[n] = (1/C) Σ_c x[n, c]                     (C channels)
    Resample:  y ← resample_poly(y, up, down),  up/down = sr / sr_orig in lowest terms
               (a polyphase FIR filter; the length becomes ceil(len(y)·up/down)).

    Parameters
    ----------
    path : str or os.PathLike
        Any file libsndfile reads (FLAC, WAV, OGG, ...).
    sr : int > 0
        Target sample rate in Hz. Default 16000 (docs/spec.md §2.1).

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        The samples in the file's own scale (PCM maps onto [-1, 1)), finite, n_samples ≥ 1.

    Raises
    ------
    ParameterError
        If ``sr`` is not a positive integer.
    AudioError
        If the file is missing, not a regular file, empty (0 bytes), not audio, corrupt or
        truncated, holds 0 samples, or holds NaN or infinite samples, or its sample rate has no
        exact resampling ratio to ``sr`` with factors up to :data:`MAX_RESAMPLE_FACTOR` (a
        damaged header, or an unusual rate). The message names the file and the reason.

    Notes
    -----
    docs/spec.md §2.1: mono, 16 kHz; other rates are resampled with the exact rational factor and
    channels are averaged. The gain is left alone here; see :func:`speaker_gain`.
    A cut-off FLAC fails to decode and raises; a cut-off uncompressed WAV cannot always be told
    from a short one (libsndfile trims the header's frame count to the data present), so it loads
    as the shorter signal.
    """
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise ParameterError(f"sr={sr!r}: the sample rate must be a positive integer, e.g. 16000")
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _fail(path, "file not found") from None
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise _fail(path, "not a regular file")
    if st.st_size == 0:
        raise _fail(path, "empty file (0 bytes)")

    x, orig_sr = _decode(path)
    if x.shape[0] == 0:
        raise _fail(path, "0 samples (the file holds no audio)")
    bad = ~np.isfinite(x)
    if bad.any():
        raise _fail(path, f"{int(bad.sum())} NaN or infinite sample values")

    y = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1)      # (n_samples,)
    if orig_sr != sr:
        if orig_sr <= 0:
            raise _fail(path, f"sample rate {orig_sr} Hz in the header")
        ratio = Fraction(int(sr), int(orig_sr))             # exact, already in lowest terms
        if max(ratio.numerator, ratio.denominator) > MAX_RESAMPLE_FACTOR:
            raise _fail(path, f"sample rate {orig_sr} Hz has no small exact ratio to {sr} Hz "
                              f"({ratio.numerator}/{ratio.denominator}); a damaged header, or "
                              f"resample the file to a common rate such as 16000 or 48000 Hz")
        # lazy: scipy.signal takes seconds to import, which every command importing this module
        # would pay at start-up (--help too); only a file at another rate needs it
        from scipy.signal import resample_poly
        y = resample_poly(y, ratio.numerator, ratio.denominator)
    return np.ascontiguousarray(y, dtype=np.float32)


def speaker_gain(signals):
    """The minimum and maximum sample over all utterances of one speaker.

    Equation
    --------
    lo = min_u min_n y_u[n],   hi = max_u max_n y_u[n]     (u over the speaker's utterances)

    Parameters
    ----------
    signals : iterable of np.ndarray, each shape (n_samples_u,)
        All utterances of one speaker, e.g. from :func:`load_audio`.

    Returns
    -------
    lo, hi : float
        The speaker's sample range; pass both to :func:`normalise_gain`.

    Raises
    ------
    ParameterError
        If there is no utterance, or one is empty or holds NaN or infinite values.

    Notes
    -----
    docs/spec.md §2.2: the gain is set per speaker, over all samples of all of their utterances,
    not per utterance, so loud and quiet utterances of one speaker keep their ratio.
    """
    lo, hi, count = np.inf, -np.inf, 0
    for i, y in enumerate(signals):
        y = np.asarray(y)
        if y.size == 0:
            raise ParameterError(f"signal {i} is empty: every utterance needs at least one sample")
        y_lo, y_hi = float(y.min()), float(y.max())
        if not (np.isfinite(y_lo) and np.isfinite(y_hi)):
            raise ParameterError(f"signal {i} holds NaN or infinite values; "
                                 "load it with load_audio")
        lo, hi, count = min(lo, y_lo), max(hi, y_hi), count + 1
    if count == 0:
        raise ParameterError("speaker_gain got no signal: pass all utterances of one speaker")
    return lo, hi


def normalise_gain(x, lo, hi):
    """Map the speaker range [lo, hi] linearly onto [-1, 1].

    Equation
    --------
    z[n] = 2 (x[n] − lo) / (hi − lo) − 1      so lo ↦ −1 and hi ↦ +1.

    Parameters
    ----------
    x : np.ndarray, shape (n_samples,), float32
        One utterance of the speaker.
    lo, hi : float
        The speaker's range from :func:`speaker_gain`, lo ≤ hi.

    Returns
    -------
    z : np.ndarray, shape (n_samples,), float32
        The normalised utterance. A silent speaker (hi == lo) gives zeros and a warning.

    Raises
    ------
    ParameterError
        If lo or hi is not finite, or lo > hi.

    Notes
    -----
    docs/spec.md §2.2. The silence level of x (0) maps to −(hi + lo)/(hi − lo), which is not 0 unless the
    range is symmetric: the normalised signal can carry a small DC offset.
    """
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ParameterError(f"gain range lo={lo!r}, hi={hi!r}: need finite values with lo <= hi "
                             "(use speaker_gain)")
    x = np.asarray(x, dtype=np.float32)
    if hi == lo:
        warnings.warn(f"silent speaker: every sample equals {lo!r} (hi == lo), so the "
                      "normalised signal is all zeros", RuntimeWarning, stacklevel=2)
        return np.zeros_like(x)
    # Computed in float64 so that lo and hi land exactly on -1 and +1 after rounding to float32.
    z = x.astype(np.float64)
    z -= lo
    z *= 2.0 / (hi - lo)
    z -= 1.0
    z = z.astype(np.float32)
    return np.clip(z, -1.0, 1.0, out=z)
