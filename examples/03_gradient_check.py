"""Every hand-written backward pass of numser against finite differences, and a broken one caught.

Run:  python examples/03_gradient_check.py [--out examples/out]

For each layer, a float64 copy runs on a small random input; with a random upstream gradient g the
scalar ℓ = Σ g ⊙ layer(x) is differentiated twice: by the layer's backward, and by central
differences (ℓ(θ + h) − ℓ(θ − h)) / 2h entry by entry. The table prints the relative error
max|a − b| / max(|a| + |b|) of dx and of every parameter gradient (pass: < 1e-6).
Saves two PNGs in --out:
  03_errors.png        the relative errors on a log scale, failures in red
  03_step_size.png     why h = 1e-6: truncation error falls as h², rounding error grows as 1/h
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser.nn.activations import ReLU, Sigmoid, Tanh  # noqa: E402
from numser.nn.dense import Dense, dense_backward  # noqa: E402
from numser.nn.dropout import Dropout  # noqa: E402
from numser.nn.gradcheck import check_layer, numerical_gradient, relative_error  # noqa: E402
from numser.nn.loss import softmax_cross_entropy  # noqa: E402
from numser.nn.lstm import LSTM  # noqa: E402
from numser.nn.sequence import PerStep  # noqa: E402
from numser.nn.shape import Flatten, Reshape, Transpose  # noqa: E402

try:                                      # the convolution and pooling layers, when present
    from numser.nn.conv import Conv3D
    from numser.nn.pool import MaxPool3D
except ImportError:
    Conv3D = MaxPool3D = None

TOL = 1e-6


def away_from_zero(x, margin=0.05):
    """Push entries out of (-margin, margin): a step h must not cross ReLU's kink at 0."""
    return np.where(np.abs(x) < margin, x + np.sign(x) * margin, x)


class SignFlippedDense(Dense):
    """A broken layer: the weight gradient has the wrong sign."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["W"] *= -1
        return dx


class TransposedDense(Dense):
    """A broken layer: dx = g W instead of g Wᵀ (a square W makes the shapes fit anyway)."""

    def backward(self, dy):
        dx, dW, db = dense_backward(dy, self.cache)
        self.grads["W"][...], self.grads["b"][...] = dW, db
        return dy @ self.params["W"]


def cases(rng):
    """(name, layer, x, train) for every layer of numser.nn."""
    drop = Dropout(0.5)
    x_drop = rng.standard_normal((4, 6))
    drop.fix_mask((rng.random(x_drop.shape) >= 0.5) / 0.5)   # one mask for every forward call
    out = [("Dense(6->5)", Dense(6, 5, rng=rng), rng.standard_normal((4, 6)), False),
           ("Dense on (N,T,D)", Dense(6, 5, rng=rng), rng.standard_normal((2, 3, 6)), False),
           ("ReLU", ReLU(), away_from_zero(rng.standard_normal((4, 6))), False),
           ("Sigmoid", Sigmoid(), rng.standard_normal((4, 6)), False),
           ("Tanh", Tanh(), rng.standard_normal((4, 6)), False),
           ("Dropout (fixed mask)", drop, x_drop, True),
           ("Flatten", Flatten(), rng.standard_normal((2, 3, 4)), False),
           ("Reshape", Reshape((4, 3)), rng.standard_normal((2, 3, 4)), False),
           ("Transpose", Transpose((1, 0)), rng.standard_normal((2, 3, 4)), False),
           ("LSTM (sequence)", LSTM(3, 4, rng=rng), rng.standard_normal((2, 6, 3)), False),
           ("LSTM (last state)", LSTM(3, 4, False, rng=rng), rng.standard_normal((2, 6, 3)), False),
           ("PerStep(Dense,Tanh)", PerStep([Dense(3, 4, rng=rng), Tanh()]),
            rng.standard_normal((2, 5, 3)), False)]
    if Conv3D is not None:
        out += [("Conv3D direct", Conv3D(2, 3, (2, 2, 3), rng=rng, method="direct"),
                 rng.standard_normal((2, 2, 3, 4, 6)), False),
                ("Conv3D fft", Conv3D(1, 2, (2, 1, 16), rng=rng, method="fft"),
                 rng.standard_normal((2, 1, 2, 3, 20)), False),
                ("MaxPool3D", MaxPool3D((1, 2, 2)), rng.standard_normal((2, 2, 2, 4, 6)), False)]
    return out


def step_size_curve(rng):
    """Relative error of a finite-difference weight gradient for h from 1e-1 to 1e-12.

    The scalar is ℓ(W) = Σ g ⊙ tanh(x W + b) (curved in W, so the h² truncation term shows);
    its exact gradient is xᵀ (g ⊙ (1 − tanh²)), computed with Dense and Tanh backward.
    """
    dense, tanh = Dense(5, 3, rng=rng, dtype=np.float64), Tanh()
    x, g = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    tanh.forward(dense.forward(x))
    dense.backward(tanh.backward(g))
    analytic = dense.grads["W"].copy()
    loss = lambda W: np.sum(g * tanh.forward(dense.forward(x)))  # noqa: E731 (W is read in place)
    hs = np.logspace(-1, -12, 23)
    errs = [relative_error(analytic, numerical_gradient(loss, dense.params["W"], h=h)) for h in hs]
    return hs, np.array(errs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out", help="folder for the PNGs")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    rows = []                                       # (layer, tensor, error, broken?)
    for name, layer, x, train in cases(rng):
        for tensor, err in check_layer(layer, x, train=train).items():
            rows.append((name, tensor, err, False))
    logits, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    _, dlogits = softmax_cross_entropy(logits, y)
    num = numerical_gradient(lambda z: softmax_cross_entropy(z, y)[0], logits)
    rows.append(("softmax cross-entropy", "logits", relative_error(dlogits, num), False))
    for name, layer in (("BROKEN: dW sign flipped", SignFlippedDense(4, 4, rng=rng)),
                        ("BROKEN: dx = g W, not g Wᵀ", TransposedDense(4, 4, rng=rng))):
        for tensor, err in check_layer(layer, rng.standard_normal((3, 4))).items():
            rows.append((name, tensor, err, True))

    if Conv3D is None:
        print("numser.nn.conv / pool not importable: Conv3D and MaxPool3D are skipped\n")
    print(f"{'layer':28s} {'tensor':12s} {'rel. error':>11s}  verdict (pass < {TOL:g})")
    for name, tensor, err, broken in rows:
        verdict = "ok" if err < TOL else "WRONG GRADIENT"
        print(f"{name:28s} {tensor:12s} {err:11.2e}  {verdict}")
    good = [r for r in rows if not r[3]]
    print(f"\n{sum(r[2] < TOL for r in good)} of {len(good)} correct gradients pass; the largest "
          f"error is {max(r[2] for r in good):.1e}.")
    for name in dict.fromkeys(r[0] for r in rows if r[3]):
        failed = [t for n, t, e, _ in rows if n == name and e >= TOL]
        passed = [t for n, t, e, _ in rows if n == name and e < TOL]
        print(f"{name}: caught in {', '.join(failed) or 'nothing'}; "
              f"{', '.join(passed) or 'nothing'} still pass (the check localises the bug).")

    fig, ax = plt.subplots(figsize=(8, 0.22 * len(rows) + 1.5))
    errs = np.maximum([r[2] for r in rows], 1e-17)
    colours = ["tab:red" if e >= TOL else "tab:blue" for e in errs]
    ax.scatter(errs, range(len(rows)), c=colours, zorder=3)
    ax.set_xscale("log")
    ax.axvline(TOL, color="k", ls="--", label="pass threshold 1e-6")
    ax.set_yticks(range(len(rows)), [f"{n} · {t}" for n, t, _, _ in rows], fontsize=7)
    ax.invert_yaxis()
    ax.grid(axis="y", alpha=0.3)
    ax.set_xlabel("relative error, backward vs central differences (float64)")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "03_errors.png", dpi=120)

    hs, curve = step_size_curve(rng)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(hs, curve, "o-")
    ax.axvline(1e-6, color="k", ls="--", label="h = 1e-6 (numser default)")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of dW")
    ax.set_title("central differences: error ≈ c₁h² + c₂ε/h")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "03_step_size.png", dpi=120)
    best = hs[np.argmin(curve)]
    print(f"\nStep size: the error of a Dense dW falls from {curve[0]:.0e} at h = 1e-1 (truncation, "
          f"∝ h²) to {curve.min():.0e} near h = {best:.0e}, then rises to {curve[-1]:.0e} at "
          f"h = 1e-12 (rounding, ∝ ε/h).")
    print(f"Saved {out / '03_errors.png'} and {out / '03_step_size.png'}")


if __name__ == "__main__":
    main()
