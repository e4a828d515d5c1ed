"""Utterance functionals of step posteriors, and the ELM's output weights in closed form (docs/spec.md §5).

Run:  python examples/07_elm.py [--out examples/out] [--quick]

1. Step posteriors p_k(t): from a DNN-ELM (numser.models.build('dnn-elm')) trained for a few
   epochs on the 32 low-level descriptors of every 10 ms frame of a small synthetic corpus
   (16 speakers × 4 emotions × 4 utterances, split by speaker as fold 0 of the protocol);
   with --quick, simulated instead: 10 steps per utterance drawn from a Dirichlet distribution
   that leans toward the utterance's class.
2. The 16 functionals of one utterance (numser.elm.utterance_functionals): per class the max,
   min, mean and the fraction of steps with p_k(t) > 0.2.
3. The ELM (numser.elm.ELM): random sigmoid features H = σ(XA + b) and output weights
   β = (HᵀH + I/C)⁻¹ HᵀY. The same β is the least-squares solution of the augmented system
       [ H      ]       [ Y ]
       [ I / √C ] β  =  [ 0 ]
   because its normal equations are (HᵀH + I/C) β = HᵀY. The script solves that system with
   np.linalg.lstsq (an SVD, no normal equations) and prints the difference.
4. The validation UA over the (hidden, C) grid of numser.elm.select_elm, and the test UA of the
   chosen ELM beside that of the plain mean of the step posteriors.
Saves in --out:
  07_functionals.png  one utterance's step posteriors (threshold 0.2 dashed) and its 16 functionals
  07_elm_grid.png     validation UA over the (hidden units, C) grid, the chosen cell framed
"""
import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser import CLASSES  # noqa: E402
from numser.elm import (ELM, FUNCTIONALS, select_elm, solve_output_weights,  # noqa: E402
                        utterance_functionals)
from numser.metrics import unweighted_accuracy  # noqa: E402
from numser.figures import COLOURS  # noqa: E402  (Figure 3's colours)


def simulated_posteriors(rng, per_class=(40, 20, 20), steps=10):
    """Dirichlet step posteriors (N, steps, 4) for train / val / test, leaning to the true class.

    Each utterance gets its own clarity c ~ U(0, 2.5): the Dirichlet parameters are 1 for the
    other classes and 1 + c for the true one, so some utterances are clear, some ambiguous.
    """
    out = {}
    for split, n in zip(("train", "val", "test"), per_class):
        y = np.repeat(np.arange(4), n)
        clarity = rng.uniform(0.0, 2.5, size=y.size)
        alpha = np.ones((y.size, 4))
        alpha[np.arange(y.size), y] += clarity
        p = np.stack([rng.dirichlet(a, size=steps) for a in alpha])       # (N, steps, 4)
        out[split] = (p, y)
    print(f"simulated step posteriors: {steps} steps per utterance; "
          + ", ".join(f"{s} {len(v[1])} utterances" for s, v in out.items()))
    return out


def dnn_posteriors(out, seed):
    """Frame posteriors (N, 198, 4) of a briefly trained DNN-ELM on synthetic LLD frames."""
    from numser.corpora.synthetic import generate_synthetic
    from numser.features import Standardiser, extract_features
    from numser.folds import speaker_folds
    from numser.models import build
    from numser.train import TrainConfig, train

    utts = generate_synthetic(out / "cache" / "synthetic-n16-p4", seed=seed, n_speakers=16,
                              per_emotion=4)
    x, kept = extract_features(utts, "lld", cache_dir=out / "cache" / "features",
                               progress=False)                               # (N, 198, 32)
    utts = [utts[i] for i in kept]
    y = np.array([u.label for u in utts])
    speakers = np.array([u.speaker for u in utts])
    fold = speaker_folds([u.corpus for u in utts], speakers, n_folds=5, seed=seed)[0]
    masks = dict(zip(("train", "val", "test"), fold.masks(speakers)))
    scaler = Standardiser().fit(x[masks["train"]])       # the 32 descriptors, training speakers
    x = scaler.transform(x)
    print(f"corpus: {len(utts)} synthetic utterances, LLD frames {x.shape[1:]}; "
          + ", ".join(f"{s} {m.sum()}" for s, m in masks.items()))
    model = build("dnn-elm", seed=seed, verbose=True)
    # lr 1e-3 and 3 epochs: a brief, stable run on ~150 utterances (the paper: 3e-3, 20 epochs).
    train(model, x[masks["train"]], y[masks["train"]], x[masks["val"]], y[masks["val"]],
          TrainConfig(lr=1e-3, batch_size=16, max_epochs=3, patience=None, seed=seed))
    return {s: (model.step_posteriors(x[m]), y[m]) for s, m in masks.items()}


def show_functionals(p, y, path):
    """Print and plot the 16 functionals of one utterance with posteriors p (T, 4)."""
    f = utterance_functionals(p)                                          # (16,)
    print(f"\none {CLASSES[y]} utterance, {p.shape[0]} steps → 16 functionals "
          f"(class-major: columns 4k..4k+3 belong to class k):")
    print("          " + " ".join(f"{n:>10s}" for n in FUNCTIONALS))
    for k, c in enumerate(CLASSES):
        print(f"{c:>8s}  " + " ".join(f"{v:10.3f}" for v in f[4 * k:4 * k + 4]))
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.4, 1]})
    t = np.arange(p.shape[0])
    for k, c in enumerate(CLASSES):
        a.plot(t, p[:, k], color=COLOURS[c], lw=1.2, label=c)
    a.axhline(0.2, color="k", ls="--", lw=0.8)
    a.set(xlabel="frame t (10 ms hop)" if p.shape[0] > 10 else "step t", ylabel="p_k(t)",
          ylim=(0, 1),
          title=f"step posteriors of one {CLASSES[y]} utterance (dashed: 0.2)")
    a.legend(fontsize=8, ncol=4, loc="upper right")
    width = 0.2
    for k, c in enumerate(CLASSES):
        b.bar(np.arange(4) + (k - 1.5) * width, f[4 * k:4 * k + 4], width, color=COLOURS[c],
              label=c)
    b.set_xticks(np.arange(4), FUNCTIONALS)
    b.set(ylim=(0, 1), title="its 16 functionals (4 per class)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compare_with_lstsq(F, y, n_hidden, C, seed):
    """β of numser's ELM vs np.linalg.lstsq on [H; I/√C] β = [Y; 0]."""
    elm = ELM(n_hidden, C, seed=seed).fit(F, y, n_classes=4)
    H = elm.hidden(F)                                                     # (N, L)
    Y = np.eye(4)[y]                                                      # (N, 4)
    A = np.vstack([H, np.eye(n_hidden) / np.sqrt(C)])                     # (N + L, L)
    B = np.vstack([Y, np.zeros((n_hidden, 4))])                           # (N + L, 4)
    beta_ls, *_ = np.linalg.lstsq(A, B, rcond=None)
    rel = np.abs(elm.beta - beta_ls).max() / np.abs(beta_ls).max()
    print(f"\nELM(n_hidden={n_hidden}, C={C:g}) on {len(y)} training utterances: H is {H.shape}, "
          f"β is {elm.beta.shape}")
    print(f"  max |β_numser − β_lstsq| / max |β_lstsq| = {rel:.1e}   "
          f"(lstsq on the augmented {A.shape[0]}×{A.shape[1]} system, condition number "
          f"{np.linalg.cond(A):.1e})")
    # The same β from the L×L primal and the N×N dual systems (push-through identity);
    # numser's 'auto' solves the smaller one.
    primal = solve_output_weights(H, Y, C, form="primal")
    dual = solve_output_weights(H, Y, C, form="dual")
    rel_pd = np.abs(primal - dual).max() / np.abs(beta_ls).max()
    print(f"  max |β_primal − β_dual|  / max |β_lstsq| = {rel_pd:.1e}   "
          f"((HᵀH + I/C)⁻¹HᵀY, {n_hidden}×{n_hidden}, vs Hᵀ(HHᵀ + I/C)⁻¹Y, {len(y)}×{len(y)}; "
          f"numser solved the {'primal' if n_hidden <= len(y) else 'dual'})")
    return elm


def plot_grid(table, chosen, path):
    hidden = sorted({r["n_hidden"] for r in table})
    Cs = sorted({r["C"] for r in table})
    ua = np.full((len(hidden), len(Cs)), np.nan)
    for r in table:
        ua[hidden.index(r["n_hidden"]), Cs.index(r["C"])] = r["val_ua"]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    im = ax.imshow(ua, cmap="viridis", origin="lower", aspect="auto")
    for i in range(len(hidden)):
        for j in range(len(Cs)):
            ax.text(j, i, f"{ua[i, j]:.3f}", ha="center", va="center", fontsize=8,
                    color="w" if ua[i, j] < np.nanmean(ua) else "k")
    i, j = hidden.index(chosen.n_hidden), Cs.index(chosen.C)
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
    ax.set_xticks(range(len(Cs)), [f"{c:g}" for c in Cs])
    ax.set_yticks(range(len(hidden)), hidden)
    ax.set(xlabel="C (ridge penalty 1/C)", ylabel="hidden units L",
           title="ELM validation UA over the select_elm grid (red: chosen)")
    fig.colorbar(im, ax=ax, label="validation UA")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    ap.add_argument("--quick", action="store_true",
                    help="simulated Dirichlet step posteriors instead of a trained DNN-ELM")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    if args.quick:
        data = simulated_posteriors(np.random.default_rng(args.seed))
    else:
        data = dnn_posteriors(args.out, args.seed)
    p_test, y_test = data["test"]
    show_functionals(p_test[0], y_test[0], args.out / "07_functionals.png")

    F = {s: (utterance_functionals(p), y) for s, (p, y) in data.items()}  # (N, 16) each
    elm, table = select_elm(*F["train"], *F["val"], seed=args.seed, n_classes=4)
    print("\nvalidation UA over the grid (rows: hidden units, columns: C):")
    Cs = sorted({r["C"] for r in table})
    print("   L \\ C " + " ".join(f"{c:>7g}" for c in Cs))
    for L in sorted({r["n_hidden"] for r in table}):
        print(f"{L:>8d} " + " ".join(f"{r['val_ua']:7.3f}" for r in table
                                     if r["n_hidden"] == L))
    print(f"chosen: {elm!r} (ties go to fewer hidden units, then smaller C)")
    compare_with_lstsq(*F["train"], elm.n_hidden, elm.C, args.seed)

    ua_elm = unweighted_accuracy(y_test, elm.predict(F["test"][0]))
    ua_mean = unweighted_accuracy(y_test, p_test.mean(axis=1).argmax(axis=1))
    print(f"\ntest UA: ELM on functionals {ua_elm:.3f}; argmax of the mean step posterior "
          f"{ua_mean:.3f} (chance 0.250)")

    plot_grid(table, elm, args.out / "07_elm_grid.png")
    print(f"\nsaved {args.out / '07_functionals.png'}: the step posteriors of one test utterance "
          f"and its 16 functionals")
    print(f"saved {args.out / '07_elm_grid.png'}: validation UA for every (hidden units, C) of "
          f"the grid, the chosen cell in red")
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
