"""From a waveform to the 10×10×256 input volume of the 3D CNN, one stage at a time (docs/spec.md §2).

Run:  python examples/01_audio_to_volume.py [--out examples/out]

Uses EmoDB speaker 03 when the staged corpus is found (../shared/corpora/emodb relative to the
repository, or $NUMSER_CORPORA/emodb), otherwise synthetic vowel-like signals made below.
Saves two PNGs in --out and prints what each panel shows:
  01_stages.png    waveform → frames → Hamming window → FFT → log-spectrogram → volume
  01_emotions.png  the same log-spectrogram and volume for one utterance of each emotion
"""
import argparse
import csv
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser import CLASSES  # noqa: E402
from numser.audio import load_audio, normalise_gain, speaker_gain  # noqa: E402
from numser.features import spectro_volume  # noqa: E402
from numser.stft import fix_length, frame_signal, hamming, log_spectrogram, stft  # noqa: E402

SR = 16000
CORPORA = Path(os.environ.get("NUMSER_CORPORA",
                              Path(__file__).resolve().parents[1].parent / "shared" / "corpora"))


def synthetic_vowel(f0_start, f0_end, loudness, seconds=1.8, seed=0):
    """A vowel-like signal: harmonics of a gliding F0 shaped by three formants (/a/), plus breath.

    The harmonic amplitudes follow resonance peaks at 700, 1 200 and 2 600 Hz, so the
    spectrogram shows formant bands as real speech does; a 3 Hz amplitude swell makes syllables.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = np.linspace(f0_start, f0_end, t.size)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    formants = [(700, 130), (1200, 170), (2600, 250)]
    y = np.zeros_like(t)
    for k in range(1, int(7000 / max(f0_start, f0_end))):
        gain = sum(1 / (1 + ((k * f0 - fc) / bw) ** 2) for fc, bw in formants)
        y += gain / k ** 0.5 * np.sin(k * phase)
    envelope = np.clip(np.sin(np.pi * 3 * t) ** 2 + 0.05, 0, 1)
    y = loudness * envelope * y / np.abs(y).max() + 0.003 * rng.standard_normal(t.size)
    return y.astype(np.float32)


def emotion_examples():
    """{emotion: (gain-normalised signal, description)} for one speaker, and the source text."""
    emodb = CORPORA / "emodb"
    if (emodb / "manifest.csv").exists():
        with open(emodb / "manifest.csv", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["speaker"] == "03"]
        signals = [load_audio(emodb / r["path"]) for r in rows]
        lo, hi = speaker_gain(signals)            # the gain of docs/spec.md §2.2 over all of speaker 03
        chosen = {}
        for r, y in zip(rows, signals):
            chosen.setdefault(r["label"], (normalise_gain(y, lo, hi), r["path"]))
        return chosen, f"EmoDB speaker 03 ({len(rows)} utterances set the gain)"
    settings = {"neutral": (120, 110, 0.4), "happy": (200, 260, 0.7),
                "sad": (110, 90, 0.25), "angry": (190, 170, 1.0)}
    signals = {e: synthetic_vowel(*s, seed=i) for i, (e, s) in enumerate(settings.items())}
    lo, hi = speaker_gain(signals.values())
    described = {e: (normalise_gain(y, lo, hi),
                     f"synthetic vowel, F0 {settings[e][0]}→{settings[e][1]} Hz")
                 for e, y in signals.items()}
    return described, "synthetic vowel-like signals (EmoDB not found)"


def plot_stages(y, name, out):
    """The six stages of docs/spec.md §2.3–2.5 for one utterance."""
    segment = fix_length(y, 32000)                                  # (32000,) first 2 s
    frames = frame_signal(segment, frame_length=512, hop_length=320, n_frames=100)  # (100, 512)
    w = hamming(512)                                                # (512,)
    X = stft(segment, n_frames=100)                                 # (100, 257) complex
    S = log_spectrogram(y)                                          # (100, 256)
    V = spectro_volume(y)                                           # (10, 10, 256)
    n = 30                                                          # a frame inside the speech

    fig = plt.figure(figsize=(14, 10), layout="constrained")
    upper, lower = fig.subfigures(2, 1, height_ratios=[2, 1])
    grid = upper.add_gridspec(2, 10)
    ax = upper.add_subplot(grid[0, :6])
    ax.plot(np.arange(32000) / SR, segment, lw=0.4)
    for k in (n, n + 1):
        ax.axvspan(320 * k / SR, (320 * k + 512) / SR, alpha=0.25, color=f"C{k - n + 1}")
    ax.set(title=f"1. gain-normalised waveform, first 2 s (32 000 samples): {name}",
           xlabel="s", ylabel="amplitude")
    ax = upper.add_subplot(grid[0, 6:])
    ax.plot(frames[n], lw=0.6, label=f"frame {n}: samples {320 * n}…{320 * n + 511}")
    ax.plot(w * np.abs(frames[n]).max(), "k--", lw=0.8, label="Hamming window (scaled)")
    ax.plot(frames[n] * w, lw=0.6, label="windowed frame")
    ax.set(title="2–3. one 512-sample frame and its window", xlabel="sample k")
    ax.legend(fontsize=7)
    ax = upper.add_subplot(grid[1, :3])
    freq = np.arange(257) * SR / 512
    ax.plot(freq, 10 * np.log10(np.abs(X[n]) ** 2 + 1e-10), lw=0.7)
    ax.axvline(8000, color="r", ls=":", label="Nyquist bin 256 (dropped)")
    ax.set(title=f"4. |FFT|² of frame {n}, 257 bins", xlabel="Hz", ylabel="dB")
    ax.legend(fontsize=7)
    ax = upper.add_subplot(grid[1, 3:])
    im = ax.imshow(S.T, origin="lower", aspect="auto", cmap="magma",
                   extent=[0, 2.0, 0, 8000])
    for l in range(1, 10):
        ax.axvline(0.2 * l, color="w", lw=0.5)
    ax.set(title="5. log-spectrogram log(|X|² + 1e-10): 100 frames × 256 bins "
                 "(white lines: the 200 ms blocks)", xlabel="s (frame n starts at 20 ms · n)",
           ylabel="Hz")
    upper.colorbar(im, ax=ax)
    volume_axes = lower.subplots(1, 10)
    for l in range(10):
        ax = volume_axes[l]
        ax.imshow(V[l].T, origin="lower", aspect="auto", cmap="magma",
                  vmin=S.min(), vmax=S.max())
        ax.set(title=f"L={l}", xticks=[0, 9], yticks=[] if l else [0, 255])
        if l == 0:
            ax.set_ylabel("S (bin)")
        ax.set_xlabel("T")
    lower.suptitle("6. the volume V[l, t, s] = S[10 l + t, s]: L × T × S = 10 × 10 × 256")
    fig.savefig(out, dpi=90)
    plt.close(fig)
    print(f"{out}:")
    print(f"  1. waveform {segment.shape}, shaded: frames {n} and {n + 1} (512 samples, hop 320)")
    print(f"  2. frames {frames.shape}; 3. periodic Hamming window {w.shape}")
    print(f"  4. X = rfft(w · frame) {X.shape} complex; the Nyquist bin is dropped")
    print(f"  5. log-spectrogram {S.shape} float32, from {S.min():.1f} (silence: log 1e-10 = "
          f"{np.log(1e-10):.1f}) to {S.max():.1f}")
    print(f"  6. volume {V.shape}: 10 blocks of 200 ms × 10 frames × 256 bins")


def plot_emotions(examples, out):
    fig, axes = plt.subplots(2, 4, figsize=(14, 6), layout="constrained")
    print(f"{out}:")
    for j, emotion in enumerate(CLASSES):
        if emotion not in examples:
            continue
        y, source = examples[emotion]
        S = log_spectrogram(y)
        V = spectro_volume(y)
        axes[0, j].imshow(S.T, origin="lower", aspect="auto", cmap="magma",
                          extent=[0, 2.0, 0, 8000])
        axes[0, j].set_title(f"{emotion}\n{Path(source).name}", fontsize=9)
        axes[0, j].set(xlabel="s", ylabel="Hz")
        axes[1, j].imshow(V.mean(axis=1).T, origin="lower", aspect="auto", cmap="magma")
        axes[1, j].set(title="volume, mean over T: L × S", xlabel="L (200 ms block)",
                       ylabel="S (bin)")
        voiced = S[:, 3:32].mean()                 # bins 3…31 = 94…969 Hz: F0 and F1
        print(f"  {emotion:8s} {source}: {len(y) / SR:.2f} s, mean log-power 94–969 Hz "
              f"{voiced:.1f}, over all bins {S.mean():.1f}")
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    examples, source = emotion_examples()
    print(f"audio: {source}")
    y, name = examples.get("angry", next(iter(examples.values())))
    plot_stages(y, Path(name).name, args.out / "01_stages.png")
    plot_emotions(examples, args.out / "01_emotions.png")


if __name__ == "__main__":
    main()
