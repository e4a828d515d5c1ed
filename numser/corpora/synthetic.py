"""The built-in synthetic emotional-speech corpus: a source–filter voice with acted-emotion cues.

Every speaker has a voice (F0 level, vocal-tract length, loudness, voice quality, speaking rate,
expressiveness); every utterance is a random sequence of syllables (consonant onsets, vowels with
formant transitions, pauses) spoken by that voice in one of the four emotions of ``numser.CLASSES``.
The emotions move the cues the way acted speech does (docs/corpora.md has the table), by amounts
that overlap with speaker and utterance variation, so that the corpus is learnable but not trivial.
"""
import functools
import json
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
import soundfile as sf
from numba import njit

from numser import CLASSES, FileFormatError, ParameterError
from numser.atomic import atomic_open, write_json
from numser.corpora.manifest import Utterance, read_manifest, write_manifest

#: Bump when the synthesis changes, so that stamped corpora made by an older version are redone.
GENERATOR_VERSION = 2

STAMP_NAME = "synthetic.json"
MANIFEST_NAME = "manifest.csv"

# ---------------------------------------------------------------------------------------------
# Voices and emotions
# ---------------------------------------------------------------------------------------------

#: Vowel formant targets F1..F3 in Hz for an adult male vocal tract (Peterson & Barney-like).
VOWELS = np.array([[730, 1090, 2440],   # a
                   [530, 1840, 2480],   # e
                   [270, 2290, 3010],   # i
                   [570, 840, 2410],    # o
                   [300, 870, 2240],    # u
                   [660, 1720, 2410],   # ae
                   [500, 1500, 2500]],  # schwa
                  dtype=np.float64)
#: F4, F5 (Hz, male) and the bandwidths B1..B5 (Hz) of the five formants.
HIGH_FORMANTS = np.array([3500.0, 4500.0])
BANDWIDTHS = np.array([70.0, 90.0, 130.0, 180.0, 250.0])
#: Consonant places: F2 locus (Hz) the formants start from at a vowel onset (F1 starts at 300 Hz).
F2_LOCUS = {"labial": 900.0, "alveolar": 1800.0, "velar": 1500.0}


@dataclass(frozen=True)
class Voice:
    """The fixed traits of one synthetic speaker.

    Attributes
    ----------
    speaker : str
        Id within the corpus, ``"s00"``, ``"s01"``, …
    gender : str
        ``"M"`` for even speaker indices, ``"F"`` for odd ones.
    f0_hz : float
        Neutral F0 level (Hz): male ~115, female ~205, ±2 semitones (s.d.) between speakers.
    f0_range_st : float
        Neutral accent size (semitones).
    formant_scale : float
        Vocal-tract length factor on all formants (male ~1.0, female ~1.16, ±4 %).
    level_db : float
        Loudness offset (dB), ±3 dB (s.d.).
    tilt_db : float
        Extra spectral tilt of the glottal source: attenuation (dB) at 3 kHz of a one-pole
        low-pass, 10 ± 2.5 dB between speakers.
    open_quotient, closing : float
        Rosenberg pulse: open part of the period, and closing part of the open phase.
    breath_db : float
        Aspiration noise level relative to the voiced source (dB).
    jitter, shimmer : float
        Relative s.d. of period length and of period amplitude.
    rate : float
        Speaking-rate factor (syllables per second relative to 1).
    expressiveness : float
        Factor on every emotion effect: 1 is the table of :data:`STYLES`; 0.6–1.3 between speakers.
    """

    speaker: str
    gender: str
    f0_hz: float
    f0_range_st: float
    formant_scale: float
    level_db: float
    tilt_db: float
    open_quotient: float
    closing: float
    breath_db: float
    jitter: float
    shimmer: float
    rate: float
    expressiveness: float


@dataclass(frozen=True)
class Style:
    """How one emotion moves the cues, for a speaker of expressiveness 1.

    Attributes
    ----------
    f0_st : float
        F0 level shift (semitones).
    range_factor : float
        Factor on the accent size.
    slope_st_s : float
        F0 declination over the utterance (semitones per second).
    shapes : tuple of float
        Probabilities of rising, falling and rise–fall (hat) accents.
    level_db : float
        Loudness shift (dB).
    rate : float
        Factor on the speaking rate.
    tilt_db : float
        Shift of the source tilt (dB at 3 kHz; negative: flatter tilt, stronger high harmonics).
    open_quotient, closing : float
        Shifts of the Rosenberg pulse shape (smaller: tenser voice, more abrupt closure).
    breath_db : float
        Aspiration noise shift (dB).
    attack_ms : float
        Syllable onset rise time (ms).
    pause_prob : float
        Probability of a pause after a syllable.
    """

    f0_st: float
    range_factor: float
    slope_st_s: float
    shapes: tuple
    level_db: float
    rate: float
    tilt_db: float
    open_quotient: float
    closing: float
    breath_db: float
    attack_ms: float
    pause_prob: float


#: The emotion effects (docs/spec.md §1 classes; docs/corpora.md explains each cue).
STYLES = {
    "neutral": Style(f0_st=0.0, range_factor=1.0, slope_st_s=-1.5, shapes=(0.2, 0.2, 0.6),
                     level_db=0.0, rate=1.0, tilt_db=0.0, open_quotient=0.0, closing=0.0,
                     breath_db=0.0, attack_ms=20.0, pause_prob=0.2),
    "happy": Style(f0_st=3.0, range_factor=1.6, slope_st_s=-0.5, shapes=(0.5, 0.1, 0.4),
                   level_db=3.0, rate=1.1, tilt_db=-2.0, open_quotient=0.0, closing=-0.03,
                   breath_db=0.0, attack_ms=12.0, pause_prob=0.15),
    "sad": Style(f0_st=-2.0, range_factor=0.55, slope_st_s=-3.0, shapes=(0.1, 0.6, 0.3),
                 level_db=-5.0, rate=0.8, tilt_db=8.0, open_quotient=0.12, closing=0.1,
                 breath_db=4.0, attack_ms=40.0, pause_prob=0.35),
    "angry": Style(f0_st=2.0, range_factor=1.25, slope_st_s=-1.5, shapes=(0.1, 0.5, 0.4),
                   level_db=6.0, rate=1.12, tilt_db=-7.0, open_quotient=-0.12, closing=-0.1,
                   breath_db=-3.0, attack_ms=4.0, pause_prob=0.15),
}

#: Per-utterance random variation (s.d.) of every cue, on top of speaker and emotion.
UTTERANCE_SD = dict(f0_st=1.2, log_range=0.2, slope_st_s=0.8, level_db=3.0, log_rate=0.07,
                    tilt_db=1.5, open_quotient=0.03, closing=0.03, breath_db=3.0, log_attack=0.3)

#: Active-speech RMS level of a neutral utterance of a speaker with level offset 0 (dBFS).
BASE_LEVEL_DBFS = -28.0


def speaker_voice(seed, index):
    """The voice of speaker ``index`` of the corpus made with ``seed``.

    Parameters
    ----------
    seed : int ≥ 0
        Corpus seed.
    index : int ≥ 0
        Speaker index; the voice depends only on (seed, index), so a smaller corpus of the same
        seed has the same first speakers.

    Returns
    -------
    Voice
    """
    rng = np.random.default_rng([seed, 0, index, 0, 0])
    male = index % 2 == 0
    return Voice(
        speaker=f"s{index:02d}",
        gender="M" if male else "F",
        f0_hz=float((115.0 if male else 205.0) * 2 ** (rng.normal(0, 2.0) / 12)),
        f0_range_st=float(np.clip(rng.normal(2.5, 0.5), 1.0, 4.0)),
        formant_scale=float((1.0 if male else 1.16) * rng.normal(1.0, 0.04)),
        level_db=float(rng.normal(0, 3.0)),
        tilt_db=float(np.clip(rng.normal(10.0, 2.5), 3.0, 18.0)),
        open_quotient=float(np.clip(rng.normal(0.6, 0.04), 0.45, 0.75)),
        closing=float(np.clip(rng.normal(0.3, 0.04), 0.15, 0.45)),
        breath_db=float(rng.normal(-30.0, 3.0)),
        jitter=float(rng.uniform(0.005, 0.015)),
        shimmer=float(rng.uniform(0.03, 0.08)),
        rate=float(rng.normal(1.0, 0.07)),
        expressiveness=float(rng.uniform(0.6, 1.3)),
    )


@dataclass(frozen=True)
class Cues:
    """The cue values of one utterance (voice + emotion × expressiveness + utterance variation)."""

    f0_hz: float
    range_st: float
    slope_st_s: float
    shapes: tuple
    level_dbfs: float
    rate: float
    tilt_db: float
    open_quotient: float
    closing: float
    breath_db: float
    attack_s: float
    pause_prob: float


def utterance_cues(voice, emotion, rng):
    """Draw the cues of one utterance.

    Equation
    --------
    For an additive cue ``c = c_voice + x·(c_emotion − c_neutral) + ε`` and for a multiplicative
    one ``log c = log c_voice + x·(log c_emotion − log c_neutral) + ε``, where ``x`` is the
    speaker's expressiveness and ``ε ~ N(0, UTTERANCE_SD)``.

    Parameters
    ----------
    voice : Voice
    emotion : str
        One of ``numser.CLASSES``.
    rng : numpy.random.Generator

    Returns
    -------
    Cues
    """
    style, ref, x, sd = STYLES[emotion], STYLES["neutral"], voice.expressiveness, UTTERANCE_SD

    def shift(name):
        return x * (getattr(style, name) - getattr(ref, name))

    def ratio(name):
        return np.exp(x * np.log(getattr(style, name) / getattr(ref, name)))

    values = dict(      # drawn in this order: changing it changes every corpus
        f0_hz=voice.f0_hz * 2 ** ((shift("f0_st") + rng.normal(0, sd["f0_st"])) / 12),
        range_st=voice.f0_range_st * ratio("range_factor") * np.exp(rng.normal(0, sd["log_range"])),
        slope_st_s=ref.slope_st_s + shift("slope_st_s") + rng.normal(0, sd["slope_st_s"]),
        shapes=style.shapes,
        level_dbfs=BASE_LEVEL_DBFS + voice.level_db + shift("level_db")
        + rng.normal(0, sd["level_db"]),
        rate=voice.rate * ratio("rate") * np.exp(rng.normal(0, sd["log_rate"])),
        tilt_db=np.clip(voice.tilt_db + shift("tilt_db") + rng.normal(0, sd["tilt_db"]), 0.0, 30.0),
        open_quotient=np.clip(voice.open_quotient + shift("open_quotient")
                              + rng.normal(0, sd["open_quotient"]), 0.35, 0.85),
        closing=np.clip(voice.closing + shift("closing") + rng.normal(0, sd["closing"]),
                        0.08, 0.6),
        breath_db=voice.breath_db + shift("breath_db") + rng.normal(0, sd["breath_db"]),
        attack_s=1e-3 * ref.attack_ms * ratio("attack_ms") * np.exp(rng.normal(0, sd["log_attack"])),
        pause_prob=ref.pause_prob + shift("pause_prob"),
    )
    return Cues(**{name: v if name == "shapes" else float(v) for name, v in values.items()})


# ---------------------------------------------------------------------------------------------
# The time-varying formant filter (Numba kernel beside its plain reference)
# ---------------------------------------------------------------------------------------------

def resonator_coefficients(freqs, bandwidths, *, sr):
    """Coefficients of second-order resonators with unity gain at 0 Hz.

    Equation
    --------
    ``r = exp(−π B / sr)``, ``θ = 2π F / sr``, ``a1 = 2 r cos θ``, ``a2 = −r²``,
    ``b0 = 1 − a1 − a2``; the filter is ``y[n] = b0 x[n] + a1 y[n−1] + a2 y[n−2]``, with F the
    centre frequency and B the −3 dB bandwidth (Hz).

    Parameters
    ----------
    freqs, bandwidths : ndarray, broadcastable to shape (K, N), float64
        Centre frequency and bandwidth of K resonators at each of N samples (a constant
        bandwidth can be given as shape (K, 1)).
    sr : int
        Sample rate (Hz).

    Returns
    -------
    b0, a1, a2 : ndarray, shape (K, N), float64
    """
    r = np.exp(-np.pi * np.asarray(bandwidths, np.float64) / sr)
    a1 = 2.0 * r * np.cos(2.0 * np.pi * np.asarray(freqs, np.float64) / sr)
    a2 = np.broadcast_to(-r * r, a1.shape)
    return 1.0 - a1 - a2, a1, a2


def resonator_cascade_reference(x, b0, a1, a2):
    """Plain-Python cascade of K time-varying resonators (the readable reference).

    Equation
    --------
    ``y_k[n] = b0[k, n] y_{k−1}[n] + a1[k, n] y_k[n−1] + a2[k, n] y_k[n−2]``, ``y_{−1} = x``,
    zero initial state; the output is ``y_{K−1}``.

    Parameters
    ----------
    x : ndarray, shape (N,), float64
    b0, a1, a2 : ndarray, shape (K, N), float64
        From :func:`resonator_coefficients`.

    Returns
    -------
    ndarray, shape (N,), float64
    """
    y = np.array(x, dtype=np.float64)
    for k in range(b0.shape[0]):
        out = np.zeros_like(y)
        y1 = y2 = 0.0
        for n in range(len(y)):
            out[n] = b0[k, n] * y[n] + a1[k, n] * y1 + a2[k, n] * y2
            y2, y1 = y1, out[n]
        y = out
    return y


@njit(cache=True)
def _resonator_cascade_kernel(x, b0, a1, a2):
    """Numba version of :func:`resonator_cascade_reference` (same arguments and result)."""
    y = x.copy()
    for k in range(b0.shape[0]):
        y1 = 0.0
        y2 = 0.0
        for n in range(y.shape[0]):
            v = b0[k, n] * y[n] + a1[k, n] * y1 + a2[k, n] * y2
            y2 = y1
            y1 = v
            y[n] = v
    return y


def resonator_cascade(x, freqs, bandwidths, *, sr):
    """Filter ``x`` through K formant resonators in cascade whose frequencies change every sample.

    Parameters
    ----------
    x : ndarray, shape (N,)
        Excitation.
    freqs, bandwidths : ndarray, broadcastable to shape (K, N)
        Formant frequencies and bandwidths (Hz) per sample.
    sr : int
        Sample rate (Hz).

    Returns
    -------
    ndarray, shape (N,), float64

    Notes
    -----
    ``scipy.signal.lfilter`` cannot change coefficients per sample; the Numba kernel does the
    recursion of :func:`resonator_cascade_reference` (tests compare the two, and with
    ``lfilter`` for constant formants).
    """
    b0, a1, a2 = (np.ascontiguousarray(c) for c in resonator_coefficients(freqs, bandwidths, sr=sr))
    return _resonator_cascade_kernel(np.ascontiguousarray(x, dtype=np.float64), b0, a1, a2)


# ---------------------------------------------------------------------------------------------
# One utterance
# ---------------------------------------------------------------------------------------------

#: Utterance length limits (s); the syllable plan is shortened or extended to fit.
MIN_DURATION, MAX_DURATION = 1.05, 2.95


def _syllables(rng, cues):
    """Random syllable plan: list of (onset kind, place, onset s, vowel index, vowel s, pause s)."""
    def syllable():
        kind = rng.choice(["none", "stop", "fricative", "nasal"], p=[0.25, 0.3, 0.25, 0.2])
        place = rng.choice(list(F2_LOCUS))
        onset = {"none": 0.0, "stop": 0.065, "fricative": 0.08, "nasal": 0.06}[kind]
        vowel = 0.14 * np.exp(rng.normal(0, 0.3))
        pause = rng.uniform(0.08, 0.25) if rng.random() < cues.pause_prob else 0.0
        return (kind, place, onset / cues.rate, int(rng.integers(len(VOWELS))), vowel / cues.rate,
                pause / cues.rate)

    lead, tail = rng.uniform(0.05, 0.15, size=2)
    plan = [syllable() for _ in range(int(rng.integers(4, 13)))]

    def total():
        return lead + tail + sum(s[2] + s[4] + s[5] for s in plan) - plan[-1][5]

    while total() > MAX_DURATION and len(plan) > 1:
        plan.pop()
    while total() < MIN_DURATION:
        plan.append(syllable())
    return lead, tail, plan


def tilt_coefficient(tilt_db, *, sr, at_hz=3000.0):
    """Pole ``a`` of the low-pass ``H(z) = (1 − a) / (1 − a z⁻¹)`` that attenuates ``at_hz`` by
    ``tilt_db`` relative to 0 Hz (Klatt's TL parameter).

    Equation
    --------
    ``|H(ω)|² = (1 − a)² / (1 − 2a cos ω + a²) = g²`` with ``g = 10^(−tilt_db/20)``,
    ``ω = 2π·at_hz/sr``, solved for the root ``a ∈ [0, 1)``:
    ``a = (c − sqrt(c² − (1 − g²)²)) / (1 − g²)``, ``c = 1 − g² cos ω``.
    """
    g2 = 10.0 ** (-tilt_db / 10.0)
    if g2 >= 1.0:
        return 0.0
    c = 1.0 - g2 * np.cos(2.0 * np.pi * at_hz / sr)
    return float((c - np.sqrt(c * c - (1.0 - g2) ** 2)) / (1.0 - g2))


def _rosenberg(phase, open_quotient, closing):
    """Glottal flow of a Rosenberg (type C) pulse at period fractions ``phase`` ∈ [0, 1).

    Equation
    --------
    With opening time ``Tp = OQ·(1 − c)`` and closing time ``Tn = OQ·c`` (fractions of a period):
    ``g = ½(1 − cos(π φ/Tp))`` for ``φ < Tp``; ``g = cos(π(φ − Tp)/(2 Tn))`` for
    ``Tp ≤ φ < Tp + Tn``; ``g = 0`` while the glottis is closed.
    """
    tp = open_quotient * (1.0 - closing)
    tn = open_quotient * closing
    g = np.zeros_like(phase)
    rising = phase < tp
    falling = ~rising & (phase < tp + tn)
    g[rising] = 0.5 * (1.0 - np.cos(np.pi * phase[rising] / tp))
    g[falling] = np.cos(np.pi * (phase[falling] - tp) / (2.0 * tn))
    return g


@functools.lru_cache(maxsize=None)
def _noise_filter(kind, sr):
    """(b, a) of consonant noise: fricatives band-passed 2.5–7 kHz, bursts high-passed at 1 kHz."""
    # lazy (here and in synthesize_utterance): scipy.signal takes seconds to import, which every
    # command would pay at start-up through numser.corpora; only generating the corpus needs it
    from scipy.signal import butter
    if kind == "fricative":
        return butter(2, [2500 / (sr / 2), min(7000, 0.45 * sr) / (sr / 2)], btype="band")
    return butter(2, 1000 / (sr / 2), btype="high")


def synthesize_utterance(voice, emotion, rng, *, sr=16000):
    """Synthesise one utterance of ``voice`` in ``emotion``.

    A Rosenberg glottal pulse train (F0 contour with per-period jitter and shimmer, a one-pole
    spectral tilt, pulse-synchronous aspiration noise) is gated by syllable envelopes and
    filtered by five time-varying formant resonators; fricative and burst noise is added for the
    consonants, the result is scaled to the utterance's active-speech level, and a faint noise
    floor is added.

    Parameters
    ----------
    voice : Voice
    emotion : str
        One of ``numser.CLASSES``.
    rng : numpy.random.Generator
        Source of every random choice (content and cue variation).
    sr : int, default 16000
        Sample rate (Hz).

    Returns
    -------
    y : ndarray, shape (N,), float32
        Samples in [-1, 1], ``1.05·sr ≤ N ≤ 2.95·sr``.
    cues : Cues
        The drawn cue values.
    """
    from scipy.signal import lfilter          # lazy: see _noise_filter
    cues = utterance_cues(voice, emotion, rng)
    lead, tail, plan = _syllables(rng, cues)

    # Breakpoints of the slowly varying tracks, (time s, value…), interpolated to samples below.
    f0_points = []                       # (t, semitone offset) accent targets
    formant_points = []                  # (t, F1, F2, F3)
    voiced_env = []                      # (t0, t1, attack, release, gain) voiced stretches
    noise_segments = []                  # (t0, t1, kind, gain) frication and bursts
    t = lead
    formant_points.append((0.0, *VOWELS[plan[0][3]]))
    for i, (kind, place, onset, vowel, nucleus, pause) in enumerate(plan):
        locus = np.array([300.0, F2_LOCUS[place], 2500.0])
        if kind == "stop":
            noise_segments.append((t + 0.8 * onset, t + onset, "burst", 0.2))
        elif kind == "fricative":
            noise_segments.append((t, t + onset, "fricative", 0.08))
        elif kind == "nasal":
            voiced_env.append((t, t + onset, cues.attack_s, 0.01, 0.25))
        if kind != "none":
            formant_points.append((t + onset, *locus))
        target = VOWELS[vowel] * np.exp(rng.normal(0, 0.05, size=3))
        start, end = t + onset, t + onset + nucleus
        formant_points.append((start + min(0.04, 0.4 * nucleus), *target))
        formant_points.append((end, *target))
        stressed = rng.random() < 0.35
        voiced_env.append((start, end, cues.attack_s, 0.03, 1.0 if stressed else 0.7))
        height = cues.range_st * (rng.uniform(0.6, 1.0) if stressed else rng.uniform(0.0, 0.35))
        shape = rng.choice(3, p=cues.shapes)           # 0 rise, 1 fall, 2 hat
        if shape == 0:
            f0_points += [(start, 0.0), (end, height)]
        elif shape == 1:
            f0_points += [(start, height), (end, 0.0)]
        else:
            f0_points += [(start, 0.0), (0.5 * (start + end), height), (end, 0.0)]
        t = end + (pause if i < len(plan) - 1 else 0.0)
    duration = t + tail
    n = int(round(duration * sr))
    times = np.arange(n) / sr

    # F0 (Hz): level × declination × accents × slow drift.
    ft, fv = np.array(f0_points).T
    drift = np.interp(times, np.linspace(0, duration, 8), rng.normal(0, 0.3, 8))
    semitones = np.interp(times, ft, fv) + cues.slope_st_s * (times - lead) + drift
    f0 = np.clip(cues.f0_hz * 2 ** (semitones / 12), 55.0, 550.0)

    # Glottal source: jittered period lengths, shimmered amplitudes, Rosenberg flow derivative.
    cycles = np.floor(np.cumsum(f0) / sr).astype(np.int64)
    f0 = f0 * (1.0 + voice.jitter * rng.standard_normal(cycles[-1] + 2))[cycles]
    phase = np.cumsum(f0) / sr
    cycles = np.floor(phase).astype(np.int64)
    flow = _rosenberg(phase - cycles, cues.open_quotient, cues.closing)
    source = np.diff(flow, prepend=0.0) * (sr / f0)             # per-period units, F0-independent
    source *= 1.0 + voice.shimmer * rng.standard_normal(cycles[-1] + 1)[cycles]
    source /= np.sqrt(np.mean(source ** 2)) + 1e-12
    aspiration = rng.standard_normal(n) * (0.4 + 0.6 * flow) * 10 ** (cues.breath_db / 20)
    a = tilt_coefficient(cues.tilt_db, sr=sr)           # the tilt shapes pulses and noise alike
    source = lfilter([1.0 - a], [1.0, -a], source + aspiration)

    # Syllable envelopes: linear attack and release (an abrupt attack for a small attack time).
    envelope = np.zeros(n)
    for t0, t1, attack, release, gain in voiced_env:
        ramp = np.minimum((times - t0) / attack, (t1 - times) / release)
        envelope = np.maximum(envelope, gain * np.clip(ramp, 0.0, 1.0))
    excitation = source * envelope

    # Formant tracks (F1..F3 from the plan, F4, F5 fixed), scaled by the vocal-tract length.
    pt = np.array([p[0] for p in formant_points])
    low = np.array([np.interp(times, pt, [p[k] for p in formant_points]) for k in (1, 2, 3)])
    freqs = np.vstack([low, np.repeat(HIGH_FORMANTS[:, None], n, axis=1)]) * voice.formant_scale
    freqs = np.minimum(freqs, 0.45 * sr)
    voiced = resonator_cascade(excitation, freqs, BANDWIDTHS[:, None], sr=sr)

    # Consonant noise: fricatives band-passed 2.5–7 kHz, bursts high-passed at 1 kHz.
    noise = np.zeros(n)
    white = rng.standard_normal(n)
    for t0, t1, kind, gain in noise_segments:
        i0, i1 = int(t0 * sr), int(t1 * sr)
        b, a = _noise_filter(kind, sr)
        k = np.arange(i1 - i0)
        ramp = np.minimum(1.0, np.minimum(k, k[::-1]) / (0.005 * sr))        # 5 ms fades
        noise[i0:i1] += gain * lfilter(b, a, white[i0:i1]) * ramp

    active = envelope > 0.5
    voiced_rms = np.sqrt(np.mean(voiced[active] ** 2)) if active.any() else 1.0
    y = (voiced + noise * voiced_rms) * (10 ** (cues.level_dbfs / 20) / voiced_rms)
    peak = np.abs(y).max()
    if peak > 0.98:                  # a rare loud take: limit it rather than clip it
        y *= 0.98 / peak
    y += 10 ** (-70 / 20) * rng.standard_normal(n)
    return y.astype(np.float32), cues


# ---------------------------------------------------------------------------------------------
# The corpus on disk
# ---------------------------------------------------------------------------------------------

def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name}={value!r}: must be an integer ≥ {minimum}")
    return int(value)


def _utterance_rng(seed, index, label, take):
    """The random generator of one utterance; it depends only on its own coordinates."""
    return np.random.default_rng([seed, 1, index, label, take])


def generate_synthetic(out_dir, *, seed=0, n_speakers=40, per_emotion=6, sr=16000):
    """Write the synthetic corpus (FLAC files + manifest.csv) to ``out_dir``, or reuse it.

    Parameters
    ----------
    out_dir : str or path-like
        Folder for ``sNN/sNN_<emotion>_KK.flac``, ``manifest.csv`` and the stamp
        ``synthetic.json``. Created if needed.
    seed : int ≥ 0, default 0
        Everything (voices, content, variation) follows from it deterministically.
    n_speakers : int ≥ 1, default 40
        Speakers s00, s01, …; even indices male, odd female.
    per_emotion : int ≥ 1, default 6
        Utterances per speaker and emotion: ``n_speakers · 4 · per_emotion`` in all.
    sr : int ≥ 12000, default 16000
        Sample rate (Hz); files are mono PCM-16 FLAC.

    Returns
    -------
    list of Utterance
        Ordered by speaker, emotion, take; corpus ``"synthetic"``, speakers ``"synthetic:sNN"``.

    Raises
    ------
    ParameterError
        For an invalid parameter.

    Notes
    -----
    The stamp holds the parameters and :data:`GENERATOR_VERSION`; when it matches and every
    listed file exists, nothing is regenerated. The stamp is removed first and written last,
    and every file is written to a temporary name and renamed, so an interrupted generation is
    redone rather than half used (and parallel processes generating the same corpus write
    identical files).
    """
    seed = _check_int("seed", seed, 0)
    n_speakers = _check_int("n_speakers", n_speakers, 1)
    per_emotion = _check_int("per_emotion", per_emotion, 1)
    sr = _check_int("sr", sr, 12000)
    out_dir = os.path.abspath(os.fspath(out_dir))
    params = dict(generator_version=GENERATOR_VERSION, seed=seed, n_speakers=n_speakers,
                  per_emotion=per_emotion, sr=sr)
    stamp = os.path.join(out_dir, STAMP_NAME)
    manifest = os.path.join(out_dir, MANIFEST_NAME)
    if _stamp_matches(stamp, params) and os.path.isfile(manifest):
        try:
            utterances = read_manifest(manifest)
            if len(utterances) == n_speakers * len(CLASSES) * per_emotion:
                return utterances
        except (ParameterError, FileFormatError):
            pass                           # a listed file is missing: generate again
    os.makedirs(out_dir, exist_ok=True)
    if os.path.exists(stamp):
        os.remove(stamp)
    started = time.perf_counter()
    utterances, extra = [], []
    for index in range(n_speakers):
        voice = speaker_voice(seed, index)
        folder = os.path.join(out_dir, voice.speaker)
        os.makedirs(folder, exist_ok=True)
        for label, emotion in enumerate(CLASSES):
            for take in range(per_emotion):
                y, cues = synthesize_utterance(voice, emotion,
                                               _utterance_rng(seed, index, label, take), sr=sr)
                path = os.path.join(folder, f"{voice.speaker}_{emotion}_{take:02d}.flac")
                with atomic_open(path) as f:
                    sf.write(f, y, sr, format="FLAC", subtype="PCM_16")
                utterances.append(Utterance(path=path, corpus="synthetic",
                                            speaker=f"synthetic:{voice.speaker}", label=label,
                                            gender=voice.gender))
                extra.append(dict(duration_s=f"{len(y) / sr:.4f}", f0_hz=f"{cues.f0_hz:.1f}",
                                  level_dbfs=f"{cues.level_dbfs:.1f}", rate=f"{cues.rate:.3f}"))
    write_manifest(utterances, manifest, extra=extra)
    record = dict(params, seconds=round(time.perf_counter() - started, 2),
                  voices=[asdict(speaker_voice(seed, i)) for i in range(n_speakers)])
    write_json(stamp, record)
    return utterances


def _stamp_matches(stamp, params):
    """True when the stamp file exists and records exactly ``params``."""
    try:
        with open(stamp, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return False
    return all(record.get(key) == value for key, value in params.items())

