"""The 32 low-level descriptors of the DNN-ELM and LSTM-ELM baselines over one utterance (docs/spec.md §4).

Run:  python examples/02_low_level_descriptors.py [--out examples/out]

Uses an EmoDB utterance (wav/03a01Fa.flac, speaker 03's gain) when the staged corpus is found
(../shared/corpora/emodb relative to the repository, or $NUMSER_CORPORA/emodb), otherwise a
synthetic vowel-like signal made below. Saves 02_lld.png in --out: the waveform, F0, voicing
probability, zero-crossing rate, RMS energy, MFCC 1–12 and the 16 deltas, on one time axis of
25 ms frames every 10 ms, and prints what each panel shows.
"""
import argparse
import csv
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser.audio import load_audio, normalise_gain, speaker_gain  # noqa: E402
from numser.features import lld_sequence  # noqa: E402
from numser.lld import DESCRIPTOR_NAMES  # noqa: E402
from numser.stft import fix_length  # noqa: E402

SR = 16000
CORPORA = Path(os.environ.get("NUMSER_CORPORA",
                              Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))


def synthetic_utterance(seconds=1.8, seed=0):
    """Three 'syllables': voiced vowels with a falling F0 (180 → 120 Hz), separated by hiss."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 180 - 60 * t / seconds
    phase = 2 * np.pi * np.cumsum(f0) / SR
    formants = [(700, 130), (1200, 170), (2600, 250)]
    voiced = sum(sum(1 / (1 + ((k * f0 - fc) / bw) ** 2) for fc, bw in formants)
                 / k ** 0.5 * np.sin(k * phase) for k in range(1, 40))
    syllable = np.sin(np.pi * t / 0.6) ** 2 * (np.sin(np.pi * t / 0.6) > 0.3)
    hiss = 0.08 * rng.standard_normal(t.size) * (1 - syllable)     # fricatives between vowels
    return (0.5 * syllable * voiced / np.abs(voiced).max() + hiss).astype(np.float32)


def utterance():
    emodb = CORPORA / "emodb"
    if (emodb / "manifest.csv").exists():
        with open(emodb / "manifest.csv", newline="") as f:
            paths = [emodb / r["path"] for r in csv.DictReader(f) if r["speaker"] == "03"]
        signals = [load_audio(p) for p in paths]
        lo, hi = speaker_gain(signals)
        i = [p.name for p in paths].index("03a01Fa.flac")
        return normalise_gain(signals[i], lo, hi), "EmoDB wav/03a01Fa.flac (happy, speaker 03)"
    y = synthetic_utterance()
    return normalise_gain(y, *speaker_gain([y])), "synthetic vowel-like signal (EmoDB not found)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    y, source = utterance()
    L = lld_sequence(y)                                    # (198, 32): first 2 s, zero-padded
    t = (np.arange(L.shape[0]) * 160 + 200) / SR           # centre of each 25 ms frame, s
    col = {name: L[:, j] for j, name in enumerate(DESCRIPTOR_NAMES)}
    voiced = col["f0"] > 0

    fig, axes = plt.subplots(7, 1, figsize=(12, 14), sharex=True, layout="constrained",
                             height_ratios=[1, 1, 0.7, 0.7, 0.7, 1.6, 2.2])
    segment = fix_length(y, 32000)
    axes[0].plot(np.arange(32000) / SR, segment, lw=0.3)
    axes[0].set(title=f"waveform (gain-normalised, first 2 s): {source}", ylabel="amplitude")
    axes[1].plot(t[voiced], col["f0"][voiced], ".", ms=3)
    axes[1].set(title="F0: autocorrelation peak in 50–500 Hz, parabolic interpolation "
                      "(unvoiced frames: 0, not drawn)", ylabel="Hz")
    axes[2].plot(t, col["voicing"], lw=0.8)
    axes[2].axhline(0.5, color="k", ls=":", lw=0.8)
    axes[2].set(title="voicing probability: normalised autocorrelation at the peak "
                      "(dotted: the 0.5 voicing threshold)", ylim=(-0.05, 1.05))
    axes[3].plot(t, col["zcr"], lw=0.8, color="C2")
    axes[3].set(title="zero-crossing rate (fraction of sign changes)", ylabel="rate")
    axes[4].plot(t, col["rms"], lw=0.8, color="C3")
    axes[4].set(title="RMS energy of the mean-removed frame", ylabel="rms")
    mfcc = L[:, 3:15]
    top = np.abs(mfcc).max()                                # white = 0
    im = axes[5].imshow(mfcc.T, origin="lower", aspect="auto", cmap="coolwarm", vmin=-top,
                        vmax=top, extent=[t[0], t[-1], 0.5, 12.5])
    axes[5].set(title="MFCC 1–12: DCT-II of 26 log mel energies (HTK mel, 0–8 kHz)",
                ylabel="coefficient")
    fig.colorbar(im, ax=axes[5])
    d = L[:, 16:]
    d = d / (np.abs(d).max(axis=0) + 1e-12)                 # each delta on its own scale
    im = axes[6].imshow(d.T, origin="lower", aspect="auto", cmap="coolwarm", vmin=-1, vmax=1,
                        extent=[t[0], t[-1], -0.5, 15.5])
    axes[6].set_yticks(range(16), [n.replace("delta_", "Δ") for n in DESCRIPTOR_NAMES[16:]],
                       fontsize=7)
    axes[6].set(title="first deltas of the 16 (regression over ±2 frames), each row scaled "
                      "to its own max |Δ|", xlabel="s (frame centre; 25 ms window, 10 ms hop)")
    fig.colorbar(im, ax=axes[6])
    out = args.out / "02_lld.png"
    fig.savefig(out, dpi=90)
    plt.close(fig)

    print(f"audio: {source}")
    print(f"{out}: {L.shape[0]} frames × {L.shape[1]} descriptors (float32)")
    print(f"  F0: {voiced.sum()} voiced frames ({voiced.mean():.0%}), median "
          f"{np.median(col['f0'][voiced]) if voiced.any() else 0:.0f} Hz, range "
          f"{col['f0'][voiced].min() if voiced.any() else 0:.0f}–{col['f0'].max():.0f} Hz")
    print(f"  voicing: mean {col['voicing'][voiced].mean() if voiced.any() else 0:.2f} on voiced "
          f"frames, {col['voicing'][~voiced].mean():.2f} on the others")
    print(f"  ZCR: mean {col['zcr'][voiced].mean() if voiced.any() else 0:.3f} on voiced frames, "
          f"{col['zcr'][~voiced & (col['rms'] > 0)].mean():.3f} on unvoiced frames with energy")
    print(f"  RMS: max {col['rms'].max():.3f}; the zero-padded tail gives "
          f"{int((col['rms'] == 0).sum())} frames of exactly 0")
    print("  MFCC 1–12: per-coefficient std " + " ".join(f"{v:.1f}" for v in mfcc.std(axis=0)))
    print("  deltas: d[t] = (c[t+1] − c[t−1] + 2 (c[t+2] − c[t−2])) / 10, edges replicated")


if __name__ == "__main__":
    main()
