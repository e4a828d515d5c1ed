"""The 32 frame-level low-level descriptors of the DNN-ELM and LSTM-ELM baselines (docs/spec.md §4).

Per 25 ms frame (hop 10 ms): F0, voicing probability, zero-crossing rate, MFCC 1–12, RMS energy
(16 values), then the first delta of each of the 16 (32 values). Every descriptor is written out
here and vectorised over frames; only the FFT is ``np.fft``.
"""
import numpy as np

from numser.errors import ParameterError
from numser.stft import _check_int, _check_signal, frame_signal, hamming

#: Column names of :func:`low_level_descriptors`, in order.
DESCRIPTOR_NAMES = (("f0", "voicing", "zcr") + tuple(f"mfcc{i}" for i in range(1, 13))
                    + ("rms",))
DESCRIPTOR_NAMES = DESCRIPTOR_NAMES + tuple(f"delta_{name}" for name in DESCRIPTOR_NAMES)

_LOG_FLOOR = 1e-10    # the same floor as the log-spectrogram (docs/spec.md §2.4)


# ----------------------------------------------------------------------------- framing

def lld_frames(y, *, win_length=400, hop_length=160):
    """Frames of y with each frame's mean removed, shape (n_frames, win_length).

    Equation
    --------
    x[t, k] = y[hop · t + k] − (1/N) Σ_j y[hop · t + j],   n_frames = 1 + ⌊(len(y) − N) / hop⌋,
    N = win_length; only whole frames (no padding past the end).

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32 or float64, n_samples >= win_length
    win_length, hop_length : int
        Default 400 and 160 samples (25 ms and 10 ms at 16 kHz).

    Returns
    -------
    x : np.ndarray, shape (n_frames, win_length), the dtype of y

    Raises
    ------
    ParameterError
        If y is shorter than one frame, not 1-D, not floating or not finite.

    Notes
    -----
    The per-speaker min–max gain (docs/spec.md §2.2) leaves a DC offset in the signal; removing each
    frame's mean keeps it out of the pitch, ZCR, RMS and the lowest mel band.
    """
    y = _check_signal(y)
    win_length = _check_int("win_length", win_length)
    hop_length = _check_int("hop_length", hop_length)
    if y.ndim != 1 or y.shape[0] < win_length:
        raise ParameterError(f"signal shape {y.shape}: need one 1-D signal of at least "
                             f"win_length={win_length} samples")
    n_frames = 1 + (y.shape[0] - win_length) // hop_length
    frames = frame_signal(y, frame_length=win_length, hop_length=hop_length, n_frames=n_frames)
    return frames - frames.mean(axis=1, keepdims=True)     # (n_frames, win_length)


# ----------------------------------------------------------------------------- pitch

def normalised_autocorrelation(x, max_lag):
    """Normalised cross-correlation of each frame with itself shifted by τ = 0 … max_lag.

    Equation
    --------
    ρ[t, τ] = Σ_{k=0}^{N−1−τ} x[t, k] x[t, k+τ] / sqrt(E_head[t, τ] · E_tail[t, τ]),
    E_head[t, τ] = Σ_{k=0}^{N−1−τ} x[t, k]²,  E_tail[t, τ] = Σ_{k=τ}^{N−1} x[t, k]²,
    so ρ ∈ [−1, 1] (Cauchy–Schwarz) and ρ = 1 exactly when the overlap repeats with period τ.
    A frame without energy gets ρ = 0.

    Parameters
    ----------
    x : np.ndarray, shape (n_frames, N), float
        Mean-removed frames (:func:`lld_frames`).
    max_lag : int, 0 < max_lag < N

    Returns
    -------
    rho : np.ndarray, shape (n_frames, max_lag + 1), float64

    Notes
    -----
    The numerator for all lags is one FFT per frame (Wiener–Khinchin: the inverse FFT of |X|²
    with the frame zero-padded to ≥ 2N − 1, so the circular correlation equals the linear one);
    the two energies are differences of one cumulative sum. Normalising by the overlap's own
    energy (not by E[t, 0]) keeps long lags, whose overlap is short, comparable to short ones.
    """
    x = np.asarray(x, dtype=np.float64)
    n_frames, n = x.shape
    n_fft = 1 << int(np.ceil(np.log2(2 * n - 1)))           # ≥ 2N − 1
    spectrum = np.fft.rfft(x, n=n_fft, axis=1)              # (n_frames, n_fft//2 + 1)
    # |X|² kept complex (zero imaginary part): numpy's irfft of a real array converts it first,
    # which took 4× the transform itself.
    r = np.fft.irfft(spectrum * spectrum.conj(), n=n_fft, axis=1)
    r = r[:, : max_lag + 1]                                 # (n_frames, max_lag+1)
    c = np.zeros((n_frames, n + 1))
    np.cumsum(x * x, axis=1, out=c[:, 1:])                  # c[t, j] = Σ_{k<j} x[t, k]²
    lags = np.arange(max_lag + 1)
    e_head = c[:, n - lags]                                 # Σ_{k < N−τ} x²
    e_tail = c[:, n:] - c[:, lags]                          # Σ_{k ≥ τ} x²
    denominator = np.sqrt(e_head * e_tail)
    # Below this the frame is digital silence (rounding noise of the FFT dominates the numerator).
    quiet = denominator <= 1e-12 * np.maximum(c[:, n:], 1e-300)
    return np.where(quiet, 0.0, r / np.where(quiet, 1.0, denominator))


def pitch(y, *, sr=16000, win_length=400, hop_length=160, fmin=50.0, fmax=500.0,
          threshold=0.5, octave_ratio=0.9):
    """Autocorrelation pitch tracker: F0 in Hz (0 when unvoiced) and voicing probability per frame.

    Equation
    --------
    ρ[t, τ] = normalised autocorrelation of frame t (:func:`normalised_autocorrelation`),
    searched over lags τ ∈ [⌊sr/fmax⌋, ⌈sr/fmin⌉] (32 … 320 samples for 500 … 50 Hz).
    Candidates: local maxima with ρ[t, τ] ≥ octave_ratio · max_τ ρ[t, τ]; τ* = the smallest one
    (a periodic signal also peaks at 2T, 3T, …; the first strong peak is the period T).
    Parabolic interpolation through (τ*−1, a), (τ*, b), (τ*+1, c):
        δ = (a − c) / (2 (a − 2b + c)),   ρ̂ = b − (a − c) δ / 4,
    voicing[t] = clip(ρ̂, 0, 1),  F0[t] = sr / (τ* + δ) if voicing[t] ≥ threshold else 0.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float
    sr : int
        Sample rate in Hz. Default 16000.
    win_length, hop_length : int
        Default 400 and 160 samples (25 ms, 10 ms).
    fmin, fmax : float
        Search range in Hz. Default 50 and 500.
    threshold : float in [0, 1]
        Voicing probability below which a frame is called unvoiced (F0 = 0). Default 0.5.
    octave_ratio : float in (0, 1]
        How close to the best peak an earlier peak must be to win. Default 0.9.

    Returns
    -------
    f0 : np.ndarray, shape (n_frames,), float64
        Hz, 0 for unvoiced frames.
    voicing : np.ndarray, shape (n_frames,), float64
        The normalised autocorrelation at the chosen peak, in [0, 1]; 0 without a peak.

    Raises
    ------
    ParameterError
        As :func:`lld_frames`, or if the lag range does not fit in a frame.

    Notes
    -----
    docs/spec.md §4 (F0 and voicing probability of the DNN-ELM / LSTM-ELM descriptors). A 50 Hz period
    (320 samples) fits in a 400-sample frame only 1.25 times, so low voices rest on a short
    overlap; the normalisation above keeps those lags comparable.
    """
    sr = _check_int("sr", sr)
    if not 0 < fmin < fmax:
        raise ParameterError(f"fmin={fmin!r}, fmax={fmax!r}: need 0 < fmin < fmax")
    lag_min, lag_max = int(np.floor(sr / fmax)), int(np.ceil(sr / fmin))
    if lag_min < 2 or lag_max + 1 >= win_length:
        raise ParameterError(f"lags {lag_min}…{lag_max} (from fmin={fmin}, fmax={fmax}, sr={sr}) "
                             f"must lie in 2 … win_length−2 = {win_length - 2}; widen the window "
                             "or raise fmin")
    x = lld_frames(y, win_length=win_length, hop_length=hop_length)
    rho = normalised_autocorrelation(x, lag_max + 1)        # (n_frames, lag_max+2)
    mid = rho[:, lag_min:lag_max + 1]                       # (n_frames, n_lags): ρ[τ]
    left = rho[:, lag_min - 1:lag_max]                      # ρ[τ − 1]
    right = rho[:, lag_min + 1:lag_max + 2]                 # ρ[τ + 1]
    best = mid.max(axis=1, keepdims=True)                   # (n_frames, 1)
    candidate = (mid >= left) & (mid > right) & (mid >= octave_ratio * best) & (mid > 0)
    has_peak = candidate.any(axis=1)                        # (n_frames,)
    i = candidate.argmax(axis=1)                            # first True = smallest lag
    rows = np.arange(len(i))
    a, b, c = left[rows, i], mid[rows, i], right[rows, i]
    curvature = a - 2 * b + c                               # < 0 at a strict maximum
    delta = np.where(curvature < 0, 0.5 * (a - c) / np.where(curvature < 0, curvature, -1.0), 0.0)
    peak = b - 0.25 * (a - c) * delta
    voicing = np.where(has_peak, np.clip(peak, 0.0, 1.0), 0.0)
    f0 = np.where(has_peak & (voicing >= threshold), sr / (lag_min + i + delta), 0.0)
    return f0, voicing


# ----------------------------------------------------------------------------- ZCR and RMS

def zero_crossing_rate(y, *, win_length=400, hop_length=160):
    """Fraction of neighbouring samples in a frame whose signs differ.

    Equation
    --------
    zcr[t] = (1 / (N − 1)) Σ_{k=1}^{N−1} [s[t, k] ≠ s[t, k−1]],   s = (x ≥ 0), x the
    mean-removed frame (:func:`lld_frames`); zcr ∈ [0, 1].

    Returns
    -------
    zcr : np.ndarray, shape (n_frames,), float64
    """
    x = lld_frames(y, win_length=win_length, hop_length=hop_length)
    s = x >= 0                                              # (n_frames, N)
    return (s[:, 1:] != s[:, :-1]).mean(axis=1)


def rms_energy(y, *, win_length=400, hop_length=160):
    """Root mean square of each mean-removed frame: rms[t] = sqrt((1/N) Σ_k x[t, k]²).

    Returns
    -------
    rms : np.ndarray, shape (n_frames,), float64
    """
    x = lld_frames(y, win_length=win_length, hop_length=hop_length).astype(np.float64)
    return np.sqrt((x * x).mean(axis=1))


# ----------------------------------------------------------------------------- MFCC

def hz_to_mel(f):
    """HTK mel scale: m = 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    """Inverse of :func:`hz_to_mel`: f = 700 (10^(m / 2595) − 1)."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(*, sr=16000, n_fft=512, n_mels=26, fmin=0.0, fmax=None):
    """Triangular filters equally spaced on the HTK mel scale, peak height 1.

    Equation
    --------
    Edges: m_j = mel(fmin) + j (mel(fmax) − mel(fmin)) / (n_mels + 1),  f_j = mel⁻¹(m_j),
    j = 0 … n_mels + 1. Filter i (0-based) rises from f_i to f_{i+1} and falls to f_{i+2}:
        H[i, k] = max(0, min((φ_k − f_i) / (f_{i+1} − f_i), (f_{i+2} − φ_k) / (f_{i+2} − f_{i+1}))),
    φ_k = k · sr / n_fft the frequency of FFT bin k = 0 … n_fft/2.

    Parameters
    ----------
    sr : int
        Sample rate in Hz. Default 16000.
    n_fft : int
        FFT length. Default 512 (bins 31.25 Hz apart).
    n_mels : int
        Number of filters. Default 26 (as HTK).
    fmin, fmax : float
        Band edges in Hz. Default 0 and sr / 2 (8 kHz).

    Returns
    -------
    H : np.ndarray, shape (n_mels, 1 + n_fft // 2), float64

    Raises
    ------
    ParameterError
        If the band is empty or above Nyquist, or a filter covers no FFT bin.
    """
    sr, n_fft = _check_int("sr", sr), _check_int("n_fft", n_fft)
    n_mels = _check_int("n_mels", n_mels)
    fmax = sr / 2 if fmax is None else fmax
    if not 0 <= fmin < fmax <= sr / 2:
        raise ParameterError(f"fmin={fmin!r}, fmax={fmax!r}: need "
                             f"0 <= fmin < fmax <= sr/2 = {sr / 2}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (n_mels+2,)
    phi = np.arange(1 + n_fft // 2) * sr / n_fft                                   # (n_bins,)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]    # (n_mels, 1)
    rising = (phi - lower) / (centre - lower)
    falling = (upper - phi) / (upper - centre)
    H = np.maximum(0.0, np.minimum(rising, falling))                  # (n_mels, n_bins)
    empty = np.flatnonzero(H.sum(axis=1) == 0)
    if empty.size:
        raise ParameterError(f"mel filters {empty.tolist()} cover no FFT bin (n_mels={n_mels}, "
                             f"n_fft={n_fft}): use fewer filters or a longer FFT")
    return H


def dct_matrix(n_out, n_in):
    """Orthonormal DCT-II matrix, rows 0 … n_out − 1.

    Equation
    --------
    D[q, m] = s_q cos(π q (2m + 1) / (2M)),  m = 0 … M − 1 (M = n_in),
    s_0 = sqrt(1/M), s_q = sqrt(2/M) for q > 0; so D Dᵀ = I when n_out = M
    (equal to ``scipy.fft.dct(·, type=2, norm='ortho')``).

    Returns
    -------
    D : np.ndarray, shape (n_out, n_in), float64
    """
    q = np.arange(n_out)[:, None]
    m = np.arange(n_in)[None, :]
    D = np.sqrt(2.0 / n_in) * np.cos(np.pi * q * (2 * m + 1) / (2 * n_in))
    D[0] /= np.sqrt(2.0)
    return D


def log_mel_energies(y, *, sr=16000, win_length=400, hop_length=160, n_fft=512, n_mels=26,
                     preemphasis=0.97):
    """Log energies of the mel filters per frame.

    Equation
    --------
    y'[n] = y[n] − α y[n−1] (y'[0] = y[0]);  x = mean-removed frames of y' (:func:`lld_frames`);
    P[t, k] = |Σ_j w[j] x[t, j] e^{−2πi kj/n_fft}|²   (periodic Hamming w, frame zero-padded
                                                        to n_fft);
    E[t, i] = log(Σ_k H[i, k] P[t, k] + 1e−10)  with H = :func:`mel_filterbank`.

    Returns
    -------
    E : np.ndarray, shape (n_frames, n_mels), float64

    Notes
    -----
    Pre-emphasis α = 0.97 and 26 filters over 0–8 kHz are HTK's defaults, the usual MFCC setup.
    """
    if not 0 <= preemphasis < 1:
        raise ParameterError(f"preemphasis={preemphasis!r}: need 0 <= preemphasis < 1")
    y = _check_signal(y).astype(np.float64)
    emphasised = np.concatenate([y[:1], y[1:] - preemphasis * y[:-1]])
    x = lld_frames(emphasised, win_length=win_length, hop_length=hop_length)
    spectrum = np.fft.rfft(x * hamming(win_length), n=n_fft, axis=1)  # (n_frames, 1 + n_fft//2)
    power = spectrum.real ** 2 + spectrum.imag ** 2
    H = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels)
    # einsum, not `power @ H.T`: a (198, 257) × (257, 26) product is too small for BLAS threads,
    # which cost 30× more than the arithmetic on a busy 2-core machine.
    return np.log(np.einsum("tk,mk->tm", power, H) + _LOG_FLOOR)   # (n_frames, n_mels)


def mfcc(y, *, sr=16000, n_mfcc=12, win_length=400, hop_length=160, n_fft=512, n_mels=26,
         preemphasis=0.97):
    """Mel-frequency cepstral coefficients 1 … n_mfcc (c0 left out, RMS carries the energy).

    Equation
    --------
    c[t, q] = Σ_{i=0}^{M−1} D[q, i] E[t, i],  q = 1 … n_mfcc,
    E the log-mel energies (:func:`log_mel_energies`),
    D the orthonormal DCT-II (:func:`dct_matrix`).

    Returns
    -------
    c : np.ndarray, shape (n_frames, n_mfcc), float64
    """
    n_mfcc = _check_int("n_mfcc", n_mfcc)
    if n_mfcc >= n_mels:
        raise ParameterError(f"n_mfcc={n_mfcc} must be < n_mels={n_mels}")
    E = log_mel_energies(y, sr=sr, win_length=win_length, hop_length=hop_length, n_fft=n_fft,
                         n_mels=n_mels, preemphasis=preemphasis)
    return np.einsum("tm,qm->tq", E, dct_matrix(n_mfcc + 1, n_mels)[1:])  # (n_frames, n_mfcc)


# ----------------------------------------------------------------------------- deltas

def deltas(c, *, width=2):
    """First-order regression deltas over ±width frames, edges replicated.

    Equation
    --------
    d[t] = Σ_{n=1}^{W} n (c[t+n] − c[t−n]) / (2 Σ_{n=1}^{W} n²),   c[t] = c[0] for t < 0 and
    c[t] = c[T−1] for t ≥ T. With W = 2: d[t] = (c[t+1] − c[t−1] + 2 (c[t+2] − c[t−2])) / 10.

    Parameters
    ----------
    c : np.ndarray, shape (n_frames, n_features)
    width : int >= 1
        Default 2 (HTK's DELTAWINDOW).

    Returns
    -------
    d : np.ndarray, shape (n_frames, n_features), the dtype of c
    """
    width = _check_int("width", width)
    c = np.asarray(c)
    T = c.shape[0]
    padded = np.concatenate([np.repeat(c[:1], width, axis=0), c,
                             np.repeat(c[-1:], width, axis=0)])       # (T + 2W, n_features)
    d = np.zeros_like(c)
    for n in range(1, width + 1):                                     # W terms, not frames
        d += n * (padded[width + n: width + n + T] - padded[width - n: width - n + T])
    return d / (2 * sum(n * n for n in range(1, width + 1)))


# ----------------------------------------------------------------------------- all 32

def low_level_descriptors(y, *, sr=16000, win_length=400, hop_length=160):
    """The 32 descriptors per frame: 16 LLDs, then their deltas (order: :data:`DESCRIPTOR_NAMES`).

    Equation
    --------
    v[t] = (F0, voicing, zcr, mfcc1 … mfcc12, rms)[t]           (16 values, see each function)
    LLD[t] = (v[t], deltas(v)[t])                               (32 values)

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32 or float64
        A gain-normalised utterance at ``sr`` Hz (in numser: its first 2 s, zero-padded).
    sr : int
        Default 16000.
    win_length, hop_length : int
        Default 400 and 160 samples (25 ms window, 10 ms hop).

    Returns
    -------
    lld : np.ndarray, shape (n_frames, 32), float32
        n_frames = 1 + ⌊(n_samples − win_length) / hop_length⌋ (198 for 32 000 samples).

    Raises
    ------
    ParameterError
        If y is shorter than one frame, not 1-D, not floating or not finite.

    Notes
    -----
    docs/spec.md §4: the descriptors of Han et al. 2014 (DNN-ELM) and Lee & Tashev 2015 (LSTM-ELM):
    F0, voicing probability, ZCR, MFCC 1–12, RMS energy and their first deltas.
    """
    frames = dict(sr=sr, win_length=win_length, hop_length=hop_length)
    f0, voicing = pitch(y, **frames)
    v = np.column_stack([
        f0, voicing,
        zero_crossing_rate(y, win_length=win_length, hop_length=hop_length),
        mfcc(y, **frames),
        rms_energy(y, win_length=win_length, hop_length=hop_length),
    ])                                                                # (n_frames, 16)
    return np.concatenate([v, deltas(v)], axis=1).astype(np.float32)  # (n_frames, 32)
