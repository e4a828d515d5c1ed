"""A tiny 3D convolution written out with loops, next to numser's kernels and finite differences.

Run:  python examples/04_conv3d_by_hand.py [--out examples/out]

It builds one input volume x (N=1, C=2, L=3, T=4, S=6) and a kernel w (F=2, C=2, 2×3×4), then
  1. shows what 'same' padding does with an even kernel (PyTorch's rule: k//2 - 1 before,
     k//2 after) and with an odd one;
  2. computes the forward pass with the package's loop-level twin
     (numser.nn.conv_naive.conv3d_naive_forward), nested loops straight from the equation
         y[n,f,l,t,s] = b[f] + Σ_{c,i,j,k} w[f,c,i,j,k] · xp[n,c,l+i,t+j,s+k]
     and compares it with numser's direct (Numba) and FFT paths;
  3. computes the backward pass with loops too: conv3d_naive_backward *scatters* each output's
     gradient back through every tap; this script also *gathers* dx per input position as a full
     correlation of the upstream gradient with the flipped kernel (full_correlation_dx), the
     same sum in another order. Both are compared with numser's backward and with central
     finite differences;
  4. saves 04_conv3d.png: one S-row of x with its padding, one kernel row, their correlation
     (that tap row's share of one output row), and the whole output row, which is the sum of
     C·kL·kT = 12 such shares plus the bias.
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser.nn.conv import conv3d_backward, conv3d_forward, same_padding  # noqa: E402
from numser.nn.conv_naive import conv3d_naive_backward, conv3d_naive_forward  # noqa: E402


def full_correlation_dx(g, w, x_shape, pad):
    """dx gathered per input position: g padded by k-1 on both sides, correlated with the flipped kernel.

    dxp[n,c,l',t',s'] = Σ_{f,i,j,k} w[f,c,i,j,k] · g[n,f,l'-i,t'-j,s'-k]. With i' = kL-1-i (and
    j', k' likewise) and gp = g padded by (kL-1, kT-1, kS-1) zeros on both sides, g[l'-i] is
    gp[l' + i'], so dxp = Σ_{f,i',j',k'} w[f, c, kL-1-i', kT-1-j', kS-1-k'] · gp[n, f, l'+i', t'+j', s'+k']:
    a correlation with the kernel flipped on all three axes and f, c swapped ("full": every
    position where g and the kernel overlap at all). dx is dxp with the padding cut off.
    """
    N, F, Lo, To, So = g.shape
    _, C, kL, kT, kS = w.shape
    gp = np.pad(g, ((0, 0), (0, 0), (kL - 1, kL - 1), (kT - 1, kT - 1), (kS - 1, kS - 1)))
    flipped = w[:, :, ::-1, ::-1, ::-1]
    dxp = np.zeros((N, C, Lo + kL - 1, To + kT - 1, So + kS - 1))
    for n, c, l, t, s in np.ndindex(dxp.shape):                  # every input position gathers
        total = 0.0
        for f in range(F):
            for i in range(kL):
                for j in range(kT):
                    for k in range(kS):
                        total += flipped[f, c, i, j, k] * gp[n, f, l + i, t + j, s + k]
        dxp[n, c, l, t, s] = total
    (bL, _), (bT, _), (bS, _) = pad
    L, T, S = x_shape[2:]
    return dxp[:, :, bL:bL + L, bT:bT + T, bS:bS + S]


def row_correlation(row, kernel_row):
    """out[s] = Σ_k kernel_row[k] · row[s + k] for every s where the kernel fits ('valid')."""
    return np.array([row[s:s + kernel_row.size] @ kernel_row
                     for s in range(row.size - kernel_row.size + 1)])


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

    y_loops = conv3d_naive_forward(x, w, b, pad)
    print("\n2. forward: loops (numser.nn.conv_naive) vs numser's fast paths")
    for method in ("direct", "fft"):
        y, _ = conv3d_forward(x, w, b, pad, method=method)
        print(f"   {method:6s} path: shape {y.shape}, max relative difference {rel(y, y_loops):.1e}")

    g = rng.standard_normal(y_loops.shape)                       # an upstream gradient dL/dy
    dx_l, dw_l, db_l = conv3d_naive_backward(g, x, w, pad)
    dx_full = full_correlation_dx(g, w, x.shape, pad)
    _, cache = conv3d_forward(x, w, b, pad)
    dx, dw, db = conv3d_backward(g, cache)

    def loss():                                                  # L = Σ g·y, so dL/dy = g
        return float(np.sum(g * conv3d_forward(x, w, b, pad)[0]))

    print("\n3. backward: loops vs numser vs central differences (float64)")
    print(f"   dx scattered through the taps vs gathered as a full correlation with the flipped "
          f"kernel: {rel(dx_l, dx_full):.1e}")
    for name, ours, loops, array in (("dx", dx, dx_l, x), ("dw", dw, dw_l, w), ("db", db, db_l, b)):
        print(f"   {name}: numser vs loops {rel(ours, loops):.1e}, "
              f"numser vs finite differences {rel(ours, numerical(loss, array)):.1e}")

    # 4. One S-row of x, x[0, 0, 1, 1, :] (xp row L = 1 + bL, T = 1 + bT), and one kernel row,
    # w[0, 0, 0, 1, :] (tap i = 0, j = 1): that pair meets in output row l = 1 + bL - 0,
    # t = 1 + bT - 1 of filter 0, and its correlation is one of the C·kL·kT shares of that row.
    fig, axes = plt.subplots(1, 4, figsize=(15, 3))
    (bL, _), (bT, _), (bS, aS) = pad
    row = np.concatenate([np.zeros(bS), x[0, 0, 1, 1], np.zeros(aS)])
    kernel_row = w[0, 0, 0, 1]
    share = row_correlation(row, kernel_row)
    l_out, t_out = 1 + bL - 0, 1 + bT - 1
    axes[0].bar(np.arange(-bS, x.shape[4] + aS), row, color="tab:blue")
    for lo, hi in ((-bS - 0.5, -0.5), (x.shape[4] - 0.5, x.shape[4] + aS - 0.5)):
        axes[0].axvspan(lo, hi, color="lightgrey", label="zero padding" if lo < 0 else None)
    axes[0].axhline(0, color="black", linewidth=0.5)
    axes[0].legend(loc="lower right")
    axes[0].set_title(f"x[0, 0, 1, 1, :], 'same' padding: {bS} before, {aS} after", fontsize=9)
    axes[1].bar(np.arange(w.shape[4]), kernel_row, color="tab:orange")
    axes[1].set_title("one kernel row w[0, 0, 0, 1, :]", fontsize=9)
    axes[2].plot(share, "o-", color="tab:green")
    axes[2].set_title("their correlation: Σ_k w[k] · x_padded[s + k]", fontsize=9)
    axes[3].plot(y_loops[0, 0, l_out, t_out], "o-", label="loops")
    axes[3].plot(conv3d_forward(x, w, b, pad, method="fft")[0][0, 0, l_out, t_out], "x--",
                 label="numser FFT")
    axes[3].set_title(f"y[0, 0, {l_out}, {t_out}, :] = b + the {x.shape[1] * w.shape[2] * w.shape[3]} "
                      f"row correlations", fontsize=9)
    axes[3].legend()
    for ax in axes:
        ax.set_xlabel("s (spectral bin)")
    fig.tight_layout()
    fig.savefig(out / "04_conv3d.png", dpi=100)
    xp = np.pad(x, ((0, 0), (0, 0)) + pad)
    rebuilt = b[0] + sum(row_correlation(xp[0, c, l_out + i, t_out + j], w[0, c, i, j])
                         for c in range(x.shape[1]) for i in range(w.shape[2]) for j in range(w.shape[3]))
    print(f"\n4. saved {out / '04_conv3d.png'}: the x row correlated with the kernel row is one "
          f"share of y[0, 0, {l_out}, {t_out}, :]; b[0] + all {x.shape[1] * w.shape[2] * w.shape[3]} "
          f"shares rebuild the row to {rel(rebuilt, y_loops[0, 0, l_out, t_out]):.1e}")


if __name__ == "__main__":
    main()
