"""Framing, Hamming window, short-time Fourier transform and log-spectrogram (docs/spec.md §2.3–2.4).

Everything here is written out by hand; only the FFT of each frame is ``np.fft.rfft``. numser puts
the frame axis FIRST: a spectrogram is (n_frames, n_bins), unlike librosa's (n_bins, n_frames).
"""
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from numser.errors import ParameterError


def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name}={value!r}: must be an integer >= {minimum}")
    return int(value)



def _check_fft_window(n_fft, win_length):
    """Validated (n_fft, win_length): positive ints with the window fitting in the FFT."""
    n_fft = _check_int("n_fft", n_fft)
    win_length = _check_int("win_length", win_length)
    if win_length > n_fft:
        raise ParameterError(f"win_length={win_length} > n_fft={n_fft}: the window must fit in "
                             "the FFT; raise n_fft or shorten the window")
    return n_fft, win_length

def _check_signal(y):
    """A floating, finite, non-empty array with samples on the last axis."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(f"signal dtype {y.dtype}: need float32 or float64 samples "
                             "(e.g. from numser.audio.load_audio)")
    if y.ndim == 0 or y.shape[-1] == 0:
        raise ParameterError(f"signal shape {y.shape}: need at least one sample on the last axis")
    if not np.isfinite(y).all():
        raise ParameterError("signal holds NaN or infinite values; load it with load_audio")
    return y


def hamming(n, *, periodic=True):
    """The Hamming window of length n.

    Equation
    --------
    w[k] = 0.54 − 0.46 cos(2π k / M),   k = 0 … n−1,
    M = n for the periodic window (one period of a window of length n+1, its last sample dropped;
    the right choice for spectral analysis), M = n − 1 for the symmetric window (filter design).

    Parameters
    ----------
    n : int >= 1
        Window length in samples.
    periodic : bool
        Periodic (default, as ``scipy.signal.get_window('hamming', n)``) or symmetric.

    Returns
    -------
    w : np.ndarray, shape (n,), float64

    Raises
    ------
    ParameterError
        If n is not a positive integer.

    Notes
    -----
    docs/spec.md §2.4: a periodic Hamming window of 512 samples.
    """
    n = _check_int("n", n)
    if n == 1:
        return np.ones(1)
    m = n if periodic else n - 1
    k = np.arange(n)
    return 0.54 - 0.46 * np.cos(2.0 * np.pi * k / m)


def hann(n, *, periodic=True):
    """The Hann window of length n: w[k] = 0.5 − 0.5 cos(2π k / M), M as in :func:`hamming`."""
    n = _check_int("n", n)
    if n == 1:
        return np.ones(1)
    m = n if periodic else n - 1
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / m)


def get_window(window, win_length):
    """A window by name ('hamming', 'hann', 'boxcar') or as a given array, shape (win_length,)."""
    if isinstance(window, str):
        makers = {"hamming": hamming, "hann": hann, "boxcar": lambda n: np.ones(n)}
        if window not in makers:
            raise ParameterError(f"window={window!r}: choose one of {sorted(makers)} or pass an "
                                 "array of win_length samples")
        return makers[window](win_length)
    w = np.asarray(window, dtype=np.float64)
    if w.shape != (win_length,):
        raise ParameterError(f"window of shape {w.shape}: need shape ({win_length},) = win_length")
    return w


def n_frames_for(n_samples, hop_length):
    """Default frame count: one frame per hop that starts inside the signal, 1 + ⌊(n−1)/hop⌋."""
    return 1 + (n_samples - 1) // hop_length


def fix_length(y, size):
    """The first ``size`` samples of y on its last axis, zero-padded at the end when shorter.

    Parameters
    ----------
    y : np.ndarray, shape (..., n_samples)
    size : int >= 1

    Returns
    -------
    np.ndarray, shape (..., size), the dtype of y. A new array (never a view of y).
    """
    size = _check_int("size", size)
    y = np.asarray(y)
    out = np.zeros(y.shape[:-1] + (size,), dtype=y.dtype)
    n = min(size, y.shape[-1])
    out[..., :n] = y[..., :n]
    return out


def frame_signal(y, *, frame_length, hop_length, n_frames=None):
    """Cut y into overlapping frames; frame n covers samples [hop·n, hop·n + frame_length).

    Equation
    --------
    frames[..., n, k] = y[..., hop_length · n + k]   for 0 ≤ k < frame_length,
    with y[..., i] = 0 for i ≥ n_samples (zero-padding past the end).

    Parameters
    ----------
    y : np.ndarray, shape (..., n_samples), float
        Signal(s), samples on the last axis.
    frame_length : int >= 1
        Samples per frame.
    hop_length : int >= 1
        Samples between the starts of consecutive frames.
    n_frames : int >= 1 or None
        Number of frames. Default 1 + ⌊(n_samples − 1) / hop_length⌋: every frame whose first
        sample lies inside the signal (32 000 samples, hop 320 → 100 frames).

    Returns
    -------
    frames : np.ndarray, shape (..., n_frames, frame_length), the dtype of y
        A read-only strided view of y, or of a zero-padded copy when the frames run past its end
        (no data copied per frame); copy it before writing.

    Raises
    ------
    ParameterError
        If a length is not a positive integer or y is empty, not floating or not finite.

    Notes
    -----
    Frames come FIRST (before samples), as everywhere in numser; there is no centring (librosa's
    ``center=True`` is not used): frame n starts at sample hop_length · n (docs/spec.md §2.4).
    """
    y = _check_signal(y)
    frame_length = _check_int("frame_length", frame_length)
    hop_length = _check_int("hop_length", hop_length)
    n_samples = y.shape[-1]
    n_frames = n_frames_for(n_samples, hop_length) if n_frames is None else \
        _check_int("n_frames", n_frames)
    needed = (n_frames - 1) * hop_length + frame_length    # last sample any frame touches, + 1
    padded = y if n_samples >= needed else fix_length(y, needed)  # (..., >= needed)
    windows = sliding_window_view(padded, frame_length, axis=-1)  # (..., needed-fl+1, fl)
    return windows[..., ::hop_length, :][..., :n_frames, :]       # (..., n_frames, frame_length)


def stft(y, *, n_fft=512, hop_length=320, win_length=512, window="hamming", n_frames=None):
    """Short-time Fourier transform, frames first (unlike librosa, which puts frequency first).

    Equation
    --------
    X[n, f] = Σ_{k=0}^{N−1} w[k] · y[hop · n + k] · exp(−2πi f k / N_fft),   f = 0 … N_fft/2,
    where N = win_length, w is the window, y is zero beyond its end, and the windowed frame is
    zero-padded at its end to N_fft samples when win_length < n_fft.

    Parameters
    ----------
    y : np.ndarray, shape (..., n_samples), float32 or float64
        Signal(s); leading axes are a batch (all utterances of a speaker at once, say).
    n_fft : int >= win_length
        FFT length; 1 + n_fft // 2 frequency bins, bin f at f · sr / n_fft Hz. Default 512.
    hop_length : int >= 1
        Samples between frame starts. Default 320 (20 ms at 16 kHz).
    win_length : int >= 1
        Window length in samples. Default 512 (32 ms at 16 kHz).
    window : str or np.ndarray of shape (win_length,)
        'hamming' (periodic, default), 'hann', 'boxcar', or the window samples.
    n_frames : int >= 1 or None
        Number of frames; default 1 + ⌊(n_samples − 1) / hop_length⌋ (see :func:`frame_signal`).

    Returns
    -------
    X : np.ndarray, shape (..., n_frames, 1 + n_fft // 2), complex128
        Frames FIRST: X[n] is the spectrum of the frame starting at sample hop_length · n.
        Computed in float64 whatever the input dtype (see Notes).

    Raises
    ------
    ParameterError
        If a length is not a positive integer, win_length > n_fft, the window is unknown or of the
        wrong length, or y is empty, not floating or not finite.

    Notes
    -----
    docs/spec.md §2.4. No centring, no scaling: ``scipy.signal.stft`` divides by Σ w[k]; multiply its
    result by ``window.sum()`` to compare. The frames are one strided view and the FFT runs over
    all frames in one ``np.fft.rfft`` call (no Python loop over frames).
    The windowed frames are float64 (float32 samples times the float64 window): numpy's float32
    FFT is less accurate for the quiet bins that the log makes visible, and in numpy 2.4 it is
    not faster than its float64 FFT (benchmarks/bench_features.py times both). Callers that want
    float32 cast the result they keep (:func:`log_spectrogram` does).
    """
    n_fft, win_length = _check_fft_window(n_fft, win_length)
    y = _check_signal(y)
    w = get_window(window, win_length)                      # (win_length,), float64
    frames = frame_signal(y, frame_length=win_length, hop_length=hop_length, n_frames=n_frames)
    return np.fft.rfft(frames * w, n=n_fft, axis=-1)        # (..., n_frames, 1 + n_fft//2)


_buffers = threading.local()


def _workspace(chunk, needed, n_frames, win_length, n_bins, dtype):
    """Scratch arrays for log_spectrogram, kept between calls (one set per thread).

    Allocating these few megabytes afresh on every call made the kernel page-fault more than it
    computed (the allocator hands large blocks back to the OS and takes them again).
    """
    key = (chunk, needed, n_frames, win_length, n_bins, np.dtype(dtype))
    if getattr(_buffers, "key", None) != key:
        _buffers.key = key
        _buffers.arrays = (np.zeros((chunk, needed), dtype=dtype),          # ỹ
                           np.empty((chunk, n_frames, win_length)),          # windowed, float64
                           np.empty((chunk, n_frames, 1 + n_bins), np.complex128),  # X
                           np.empty((chunk, n_frames, n_bins)),              # |X|²
                           np.empty((chunk, n_frames, n_bins)))              # scratch
    return _buffers.arrays


#: Utterances per chunk in log_spectrogram: small enough for the buffers to stay in the CPU
#: cache (4 was fastest of 4, 16 and 64 on the development machine).
_CHUNK = 4


def log_spectrogram(y, *, sr=16000, duration=2.0, n_fft=512, hop_length=320, win_length=512,
                    window="hamming", n_frames=None, eps=1e-10):
    """Log power spectrogram of the first ``duration`` seconds, Nyquist bin dropped.

    Equation
    --------
    ỹ = first D = round(duration · sr) samples of y, zero-padded at the end    (D = 32 000)
    X = stft(ỹ)                                   (n_frames, 1 + n_fft/2) = (100, 257)
    P[n, f] = log(|X[n, f]|² + ε),  f = 0 … n_fft/2 − 1                       (100, 256)

    Parameters
    ----------
    y : np.ndarray, shape (..., n_samples), float32 or float64
        Gain-normalised signal(s) at ``sr`` Hz (leading axes are a batch).
    sr : int
        Sample rate in Hz. Default 16000.
    duration : float > 0
        Seconds kept from the start. Default 2.0.
    n_fft, hop_length, win_length, window :
        As in :func:`stft`; defaults 512, 320, 512, 'hamming'.
    n_frames : int or None
        Default D // hop_length = 100 frames (frame 99 starts at 31 680 and runs 192 samples
        into the zero padding).
    eps : float > 0
        Floor inside the log, so silence gives log(ε) ≈ −23.03 instead of −∞. Default 1e-10.

    Returns
    -------
    S : np.ndarray, shape (..., n_frames, n_fft // 2), float32
        (100, 256) with the defaults; frames first.

    Raises
    ------
    ParameterError
        As :func:`stft`, and for a non-positive duration or eps.

    Notes
    -----
    docs/spec.md §2.3–2.4: first 2 s, zero-padded; 100 frames of 512 samples, hop 320; periodic Hamming;
    512-point real FFT; drop the Nyquist bin; log(|X|² + 1e-10). The arithmetic is that of
    :func:`stft` (float64), run on a batch a few utterances at a time in reused buffers; the
    power is rounded to float32 before the log (1e-7 relative in the power is 1e-7 absolute in
    the log).
    """
    sr = _check_int("sr", sr)
    if not duration > 0 or not eps > 0:
        raise ParameterError(f"duration={duration!r}, eps={eps!r}: both must be > 0")
    n_fft, win_length = _check_fft_window(n_fft, win_length)
    hop_length = _check_int("hop_length", hop_length)
    y = _check_signal(y)
    w = get_window(window, win_length)                      # (win_length,), float64
    size = int(round(duration * sr))
    n_frames = size // hop_length if n_frames is None else _check_int("n_frames", n_frames)
    n_bins = n_fft // 2

    lead = y.shape[:-1]
    flat = y.reshape(-1, y.shape[-1])                                    # (B, n_samples)
    n_signals = flat.shape[0]
    out = np.empty((n_signals, n_frames, n_bins), np.float32)            # (B, n_frames, n_bins)

    # The same arithmetic as stft(), a few utterances at a time in buffers reused across chunks:
    # fresh multi-megabyte arrays per call cost more in page faults than the FFT itself.
    chunk = _CHUNK
    needed = max(size, (n_frames - 1) * hop_length + win_length)       # ỹ plus the overhang
    kept = min(size, flat.shape[1])
    padded, windowed, spectrum, power, scratch = _workspace(
        chunk, needed, n_frames, win_length, n_bins, y.dtype)
    padded[:, kept:] = 0                                                 # ỹ: zeros after kept
    for start in range(0, n_signals, chunk):                             # utterances, not frames
        b = min(chunk, n_signals - start)
        padded[:b, :kept] = flat[start:start + b, :kept]                 # first D samples
        frames = frame_signal(padded[:b], frame_length=win_length,
                              hop_length=hop_length, n_frames=n_frames)  # (b, n_frames, W) view
        np.multiply(frames, w, out=windowed[:b])                         # w[k] · frame[k]
        np.fft.rfft(windowed[:b], n=n_fft, axis=-1, out=spectrum[:b])    # X: (b, n_frames, 257)
        X = spectrum[:b, :, :n_bins]                                     # Nyquist bin dropped
        np.square(X.real, out=power[:b])
        power[:b] += np.square(X.imag, out=scratch[:b])                  # |X|² = Re² + Im²
        power[:b] += eps
        out[start:start + b] = power[:b]                                 # float64 → float32
        np.log(out[start:start + b], out=out[start:start + b])           # float32 log: faster
    return out.reshape(lead + (n_frames, n_bins))                        # (..., n_frames, n_bins)
