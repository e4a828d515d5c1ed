"""An LSTM unrolled over time: its gates on a speech-like sequence, and BPTT checked by finite differences.

Run:  python examples/05_lstm_bptt.py [--out examples/out]

The input imitates the frame-level descriptors of the LSTM-ELM baseline (docs/spec.md §4) at 10 ms per frame:
three tracks, RMS energy (syllable bursts), voicing probability and F0 (zero when unvoiced),
60 frames = 0.6 s. A toy task: from the LAST state, tell high from low arousal (louder syllables,
higher F0), which noisy single frames do not reveal: the LSTM must gather evidence over time. A small LSTM(3→8) + Dense(8→2) learns it with Adam in a few hundred
steps (float32), then a float64 copy is checked against central differences.
Saves two PNGs in --out and prints what they show:
  05_gates.png   inputs, the input/forget/output gates, the cell state c_t and h_t over time
  05_bptt.png    |∂ℓ/∂x_t| for every frame t: backpropagation through time vs finite differences
"""
import argparse
import copy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser.nn.adam import Adam  # noqa: E402
from numser.nn.dense import Dense  # noqa: E402
from numser.nn.gradcheck import check_layer, numerical_gradient, relative_error  # noqa: E402
from numser.nn.layer import backward, forward, parameters  # noqa: E402
from numser.nn.loss import softmax, softmax_cross_entropy  # noqa: E402
from numser.nn.lstm import LSTM, lstm_forward  # noqa: E402

T, H = 60, 8


def speech_like_batch(rng, n):
    """(x (n, T, 3) float32, y (n,)): energy, voicing, F0 of 4 syllables; y = 1 for high arousal.

    High arousal (y = 1) makes the syllables 30 % louder and the F0 20 % higher, as angry or happy
    speech is louder and higher than sad speech; loudness varies 3:1 between syllables and frames
    carry noise, so one frame says little and the evidence must be summed over time.
    """
    t = np.arange(T)
    x = np.zeros((n, T, 3), dtype=np.float32)
    y = rng.integers(0, 2, n)
    for k in range(n):
        onsets = np.sort(rng.choice(np.arange(0, T - 10), size=4, replace=False))
        gain = 1.3 if y[k] else 1.0
        energy = np.zeros(T)
        for onset in onsets:
            energy += gain * rng.uniform(0.3, 0.9) * np.exp(-0.5 * ((t - onset - 5) / 2.5) ** 2)
        voicing = 1 / (1 + np.exp(-25 * (energy - 0.15)))
        f0 = voicing * (1.0 + 0.2 * y[k] + 0.15 * np.sin(2 * np.pi * t / T + rng.uniform(0, 6.3)))
        x[k] = np.stack([energy, voicing, f0], axis=1) + 0.15 * rng.standard_normal((T, 3))
    return x, y


def accuracy(model, x, y):
    return float(np.mean(np.argmax(softmax(forward(model, x)), axis=1) == y))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="folder for the PNGs")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    # 1. Train a small LSTM on the memory task (float32, the training dtype).
    model = [LSTM(3, H, return_sequences=False, rng=rng), Dense(H, 2, rng=rng)]
    x_test, y_test = speech_like_batch(np.random.default_rng(1), 500)
    print(f"LSTM(3→{H}) + Dense({H}→2): {sum(p.size for p, _ in parameters(model))} parameters; "
          f"test accuracy before training {accuracy(model, x_test, y_test):.2f} "
          f"(majority class: {max(np.mean(y_test), 1 - np.mean(y_test)):.2f})")
    opt = Adam(lr=1e-2)
    for step in range(args.steps):
        x, y = speech_like_batch(rng, 64)
        loss, dlogits = softmax_cross_entropy(forward(model, x, train=True), y)
        backward(model, dlogits)
        opt.step(parameters(model))
        if step % 100 == 0 or step == args.steps - 1:
            print(f"  step {step:4d}  loss {loss:.3f}")
    print(f"test accuracy after {args.steps} steps: {accuracy(model, x_test, y_test):.2f}")

    # 2. Unroll one sequence and look inside: gates, cell and hidden state at every frame.
    x1 = x_test[:1]
    lstm = model[0]
    _, cache = lstm_forward(x1, *(lstm.params[k] for k in ("W", "U", "b")))
    gates = cache.gates[:, 0]                               # (T, 4H): [i f g o] of the one sequence
    i, f, o = gates[:, :H], gates[:, H:2 * H], gates[:, 3 * H:]
    c, h = cache.c[1:, 0], cache.h[1:, 0]                   # (T, H)
    fig, axes = plt.subplots(6, 1, figsize=(9, 11), sharex=True)
    for track, name in zip(x1[0].T, ("RMS energy", "voicing", "F0 (scaled)")):
        axes[0].plot(track, label=name)
    axes[0].legend(fontsize=8, loc="upper right")
    axes[0].set_title(f"input: one test sequence, {'high' if y_test[0] else 'low'} arousal")
    for ax, value, name, cmap in ((axes[1], i, "input gate i_t", "viridis"),
                                  (axes[2], f, "forget gate f_t", "viridis"),
                                  (axes[3], o, "output gate o_t", "viridis"),
                                  (axes[4], c, "cell state c_t", "RdBu_r"),
                                  (axes[5], h, "hidden state h_t", "RdBu_r")):
        lim = (0, 1) if "gate" in name else (-np.abs(value).max(), np.abs(value).max())
        im = ax.imshow(value.T, aspect="auto", cmap=cmap, vmin=lim[0], vmax=lim[1],
                       interpolation="nearest")
        ax.set_ylabel("unit")
        ax.set_title(name)
        fig.colorbar(im, ax=ax, pad=0.01)
    axes[-1].set_xlabel("frame t (10 ms)")
    fig.tight_layout()
    fig.savefig(out / "05_gates.png", dpi=110)
    keep = np.argsort(f.mean(axis=0))[::-1]
    print(f"\nGates over one test sequence: forget gate f_t averaged over time per unit: "
          + " ".join(f"{v:.2f}" for v in f.mean(axis=0)[keep])
          + "\n  (f near 1 keeps the cell, so a unit can sum evidence over many frames; near 0 it forgets)")

    # 3. BPTT vs finite differences, in float64: the gradient of the loss at the last step with
    #    respect to every input frame, and every parameter of the LSTM.
    model64 = [copy.deepcopy(layer).astype(np.float64) for layer in model]
    x64 = x1.astype(np.float64)
    y1 = y_test[:1]
    _, dlogits = softmax_cross_entropy(forward(model64, x64), y1)
    dx = backward(model64, dlogits)
    num = numerical_gradient(lambda z: softmax_cross_entropy(forward(model64, z), y1)[0], x64)
    per_frame = np.linalg.norm(dx[0], axis=1), np.linalg.norm(num[0], axis=1)
    print(f"∂ℓ/∂x (all {T} frames × 3 features): BPTT vs central differences, relative error "
          f"{relative_error(dx, num):.1e}")
    print(f"|∂ℓ/∂x_t| largest over the first 10 frames {per_frame[0][:10].max():.1e}, over the "
          f"last 10 frames {per_frame[0][-10:].max():.1e}: the forget gates set how far back "
          f"the gradient reaches")
    errors = check_layer(lstm, x_test[:4], max_entries=200)
    print("check_layer(LSTM), random upstream gradient, 4 sequences, 200 entries per array: "
          + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.semilogy(per_frame[0], lw=2, label="BPTT (lstm_backward)")
    ax.semilogy(per_frame[1], "k.", ms=4, label="central differences")
    ax.set_xlabel("frame t")
    ax.set_ylabel("|∂ℓ/∂x_t|")
    ax.set_title("how much each input frame moves the loss at the last step")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "05_bptt.png", dpi=110)
    print(f"Saved {out / '05_gates.png'} and {out / '05_bptt.png'}")


if __name__ == "__main__":
    main()
