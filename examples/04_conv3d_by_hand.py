"""A tiny 3D convolution written out with loops, next to numser's kernels and finite differences.

Run:  python examples/04_conv3d_by_hand.py [--out examples/out]

It builds one input volume x (N=1, C=2, L=3, T=4, S=6) and a kernel w (F=2, C=2, 2×3×4), then
  1. shows what 'same' padding does with an even kernel (PyTorch's rule: k//2 - 1 before,
     k//2 after) and with an odd one;
  2. computes the forward pass with six nested loops straight from the equation
         y[n,f,l,t,s] = b[f] + Σ_{c,i,j,k} w[f,c,i,j,k] · xp[n,c,l+i,t+j,s+k]
     and compares it with numser's direct (Numba) and FFT paths;
  3. writes the backward pass as loops too — dx as a full correlation of the upstream gradient
     with the flipped kernel, dw as a correlation of the input with the upstream gradient —
     and compares it with numser's backward and with central finite differences;
  4. saves 04_conv3d.png: one S-row of x, its padding, the kernel row and the output.
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser.nn.conv import conv3d_backward, conv3d_forward, same_padding  # noqa: E402


def forward_loops(x, w, b, pad):
    """y from the index equation, one multiply-add at a time (pad first, then correlate)."""
    xp = np.pad(x, ((0, 0), (0, 0)) + pad)                        # (N, C, Lp, Tp, Sp)
    N, C, Lp, Tp, Sp = xp.shape
    F, _, kL, kT, kS = w.shape
    y = np.zeros((N, F, Lp - kL + 1, Tp - kT + 1, Sp - kS + 1))
    for n in range(N):
        for f in range(F):
            for l in range(y.shape[2]):
                for t in range(y.shape[3]):
                    for s in range(y.shape[4]):
                        total = b[f]
                        for c in range(C):
                            for i in range(kL):
                                for j in range(kT):
                                    for k in range(kS):
                                        total += w[f, c, i, j, k] * xp[n, c, l + i, t + j, s + k]
                        y[n, f, l, t, s] = total
    return y


def backward_loops(g, x, w, pad):
    """dx, dw, db from the index equations.

    dxp[n,c,l',t',s'] = Σ_{f,i,j,k} w[f,c,i,j,k] · g[n,f,l'-i,t'-j,s'-k]: every output that
    input position fed, i.e. a full correlation of g with the kernel flipped on all three axes.
    dw[f,c,i,j,k] = Σ_{n,l,t,s} g[n,f,l,t,s] · xp[n,c,l+i,t+j,s+k]: x correlated with g.
    """
    xp = np.pad(x, ((0, 0), (0, 0)) + pad)
    N, F, Lo, To, So = g.shape
    _, C, kL, kT, kS = w.shape
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for c in range(C):
                for i in range(kL):
                    for j in range(kT):
                        for k in range(kS):
                            for l in range(Lo):
                                for t in range(To):
                                    for s in range(So):
                                        dxp[n, c, l + i, t + j, s + k] += w[f, c, i, j, k] * g[n, f, l, t, s]
                                        dw[f, c, i, j, k] += g[n, f, l, t, s] * xp[n, c, l + i, t + j, s + k]
    (bL, _), (bT, _), (bS, _) = pad
    L, T, S = x.shape[2:]
    return dxp[:, :, bL:bL + L, bT:bT + T, bS:bS + S], dw, g.sum(axis=(0, 2, 3, 4))


def numerical(f, array, h=1e-6):
    """Central differences of the scalar f() with respect to every entry of ``array``."""
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + h
        plus = f()
        array[idx] = old - h
        minus = f()
        array[idx] = old
        grad[idx] = (plus - minus) / (2 * h)
    return grad


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/out")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 3, 4, 6))                      # (N, C, L, T, S)
    w = rng.standard_normal((2, 2, 2, 3, 4))                      # (F, C, kL, kT, kS)
    b = rng.standard_normal(2)

    print("1. 'same' padding (before, after) per axis, PyTorch's rule:")
    for kernel in ((2, 3, 4), (1, 2, 128), (3, 5, 7)):
        print(f"   kernel {kernel}: {same_padding(kernel)}")
    pad = same_padding(w.shape[2:])
    print(f"   so for w {w.shape[2:]} the volume (L, T, S) = {x.shape[2:]} becomes "
          f"{tuple(n + a + c for n, (a, c) in zip(x.shape[2:], pad))} and the output keeps "
          f"{x.shape[2:]}: an even kernel sees one more zero after than before.")

    y_loops = forward_loops(x, w, b, pad)
    print("\n2. forward: loops vs numser")
    for method in ("direct", "fft"):
        y, _ = conv3d_forward(x, w, b, pad, method=method)
        print(f"   {method:6s} path: shape {y.shape}, max relative difference {rel(y, y_loops):.1e}")

    g = rng.standard_normal(y_loops.shape)                       # an upstream gradient dL/dy
    dx_l, dw_l, db_l = backward_loops(g, x, w, pad)
    _, cache = conv3d_forward(x, w, b, pad)
    dx, dw, db = conv3d_backward(g, cache)

    def loss():                                                  # L = Σ g·y, so dL/dy = g
        return float(np.sum(g * conv3d_forward(x, w, b, pad)[0]))

    print("\n3. backward: loops vs numser vs central differences (float64)")
    for name, ours, loops, array in (("dx", dx, dx_l, x), ("dw", dw, dw_l, w), ("db", db, db_l, b)):
        print(f"   {name}: numser vs loops {rel(ours, loops):.1e}, "
              f"numser vs finite differences {rel(ours, numerical(loss, array)):.1e}")

    # 4. One S-row: x[0, 0, 1, 1, :] zero-padded, kernel row w[0, 0, 0, 1, :], one output row.
    fig, axes = plt.subplots(1, 3, figsize=(11, 3))
    bS, aS = pad[2]
    row = np.concatenate([np.zeros(bS), x[0, 0, 1, 1], np.zeros(aS)])
    axes[0].bar(np.arange(-bS, x.shape[4] + aS), row, color="tab:blue")
    for lo, hi in ((-bS - 0.5, -0.5), (x.shape[4] - 0.5, x.shape[4] + aS - 0.5)):
        axes[0].axvspan(lo, hi, color="lightgrey", label="zero padding" if lo < 0 else None)
    axes[0].axhline(0, color="black", linewidth=0.5)
    axes[0].legend(loc="lower right")
    axes[0].set_title(f"x row, 'same' padding: {bS} before, {aS} after")
    axes[1].bar(np.arange(w.shape[4]), w[0, 0, 0, 1], color="tab:orange")
    axes[1].set_title("one kernel row w[0, 0, 0, 1, :]")
    axes[2].plot(y_loops[0, 0, 1, 1], "o-", label="loops")
    axes[2].plot(conv3d_forward(x, w, b, pad, method="fft")[0][0, 0, 1, 1], "x--", label="numser FFT")
    axes[2].set_title("output row y[0, 0, 1, 1, :]")
    axes[2].legend()
    for ax in axes:
        ax.set_xlabel("s (spectral bin)")
    fig.tight_layout()
    fig.savefig(out / "04_conv3d.png", dpi=100)
    print(f"\n4. saved {out / '04_conv3d.png'}")


if __name__ == "__main__":
    main()
