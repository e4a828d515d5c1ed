"""Fold-level vs per-speaker Wilcoxon tests on two simulated classifiers (docs/spec.md §6).

Two made-up classifiers A and B are scored on 60 simulated speakers of three made-up corpora,
split into 5 speaker-independent folds with numser.folds. A is truly a little better (+3 points of
recall on every speaker). The paired Wilcoxon signed-rank test is run twice:

- on the 5 fold UAs: whatever the gap, the exact two-sided p-value can never go below
  2/32 = .0625, so α = .01 is out of reach;
- on the 60 per-speaker UAs (every test speaker of every fold): the same data can reach α = .01.

The figure shows the exact null distribution for n = 5 (the R+ of all 32 sign patterns), the
fold UAs and the per-speaker differences. Usage::

    python examples/08_significance.py [--out examples/out] [--seed 0]
"""
import argparse
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser.folds import speaker_folds  # noqa: E402
from numser.metrics import per_speaker_ua, unweighted_accuracy  # noqa: E402
from numser.stats import minimum_p_value, wilcoxon, wilcoxon_null_distribution  # noqa: E402

CORPORA = {"alpha": 20, "beta": 24, "gamma": 16}   # made-up corpora: speakers each
UTTERANCES_PER_CLASS = 12
TRUE_GAIN = 0.03                                   # A's recall minus B's, on every speaker


def simulate(rng):
    """Labels, the two classifiers' predictions and the speaker of every utterance."""
    speakers, y_true, recall_a, recall_b = [], [], [], []
    for corpus, n_spk in CORPORA.items():
        for s in range(n_spk):
            skill = np.clip(rng.normal(0.50, 0.08), 0.3, 0.8)   # how hard this speaker is
            n = 4 * UTTERANCES_PER_CLASS
            speakers += [f"{corpus}:{s:02d}"] * n
            y_true += list(np.repeat(np.arange(4), UTTERANCES_PER_CLASS))
            recall_a += [skill + TRUE_GAIN / 2] * n
            recall_b += [skill - TRUE_GAIN / 2] * n
    y_true = np.array(y_true)

    def predict(recall):
        correct = rng.random(y_true.size) < np.array(recall)
        wrong = (y_true + rng.integers(1, 4, y_true.size)) % 4   # one of the 3 other classes
        return np.where(correct, y_true, wrong)

    return np.array(speakers), y_true, predict(recall_a), predict(recall_b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    speakers, y_true, pred_a, pred_b = simulate(rng)
    corpora = [s.split(":")[0] for s in speakers]
    folds = speaker_folds(corpora, speakers, n_folds=5, seed=args.seed)

    fold_a, fold_b, spk_a, spk_b = [], [], [], []
    for fold in folds:
        _, _, test = fold.masks(speakers)
        fold_a.append(unweighted_accuracy(y_true[test], pred_a[test]))
        fold_b.append(unweighted_accuracy(y_true[test], pred_b[test]))
        ua_a = per_speaker_ua(y_true[test], pred_a[test], speakers[test])
        ua_b = per_speaker_ua(y_true[test], pred_b[test], speakers[test])
        spk_a += list(ua_a.values())
        spk_b += list(ua_b.values())
    fold_a, fold_b, spk_a, spk_b = map(np.array, (fold_a, fold_b, spk_a, spk_b))

    by_fold = wilcoxon(fold_a, fold_b)
    by_speaker = wilcoxon(spk_a, spk_b)
    print(f"{len(speakers)} utterances, {len(spk_a)} speakers in 5 folds; true gain of A: "
          f"{TRUE_GAIN:+.3f} recall on every speaker")
    print("fold UA   A: " + " ".join(f"{u:.3f}" for u in fold_a)
          + f"   mean {fold_a.mean():.3f} ± {fold_a.std(ddof=1):.3f}")
    print("fold UA   B: " + " ".join(f"{u:.3f}" for u in fold_b)
          + f"   mean {fold_b.mean():.3f} ± {fold_b.std(ddof=1):.3f}")
    print(f"A > B on {np.sum(fold_a > fold_b)}/5 folds, on {np.sum(spk_a > spk_b)}/{spk_a.size} "
          f"speakers ({np.sum(spk_a == spk_b)} ties)")
    print()
    print(f"{'pairing':<10}{'pairs':>6}{'zeros':>6}{'method':>8}{'statistic':>11}"
          f"{'p (two-sided)':>15}{'p < .01':>9}")
    for name, res in (("fold", by_fold), ("speaker", by_speaker)):
        print(f"{name:<10}{res.n + res.n_zero:>6}{res.n_zero:>6}{res.method:>8}"
              f"{res.statistic:>11.1f}{res.pvalue:>15.4g}{'yes' if res.pvalue < 0.01 else 'no':>9}")
    print("(zero differences are dropped before ranking: zero_method='wilcox')")
    print()
    print("smallest exact two-sided p by number of pairs: "
          + ", ".join(f"n={n}: {minimum_p_value(n):.4f}" for n in range(5, 10)))
    print("-> 5 paired folds can never reach α = .01; 8 pairs are the fewest that can.")

    # The exact null for n = 5: every sign pattern of the ranks 1..5 is equally likely under H0.
    patterns = list(itertools.product((0, 1), repeat=5))
    r_plus = np.array([sum(r for r, s in zip(range(1, 6), p) if s) for p in patterns])
    pmf = wilcoxon_null_distribution(5)
    assert np.array_equal(np.bincount(r_plus, minlength=16), np.round(pmf * 32))

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    counts = np.bincount(r_plus, minlength=16)
    colours = ["tab:red" if v in (0, 15) else "tab:grey" for v in range(16)]
    ax.bar(np.arange(16), counts, color=colours)
    ax.set_xlabel("R+ (sum of ranks of positive differences)")
    ax.set_ylabel("sign patterns (of 32)")
    ax.set_title("Exact null of the signed-rank test, n = 5\n"
                 "most extreme outcomes (red): p = 2/32 = .0625")
    ax.set_xticks(range(16))
    ax.set_yticks(range(counts.max() + 1))

    ax = axes[1]
    for a, b in zip(fold_a, fold_b):
        ax.plot([0, 1], [b, a], color="tab:grey", marker="o")
    ax.set_xticks([0, 1], ["B", "A"])
    ax.set_ylabel("fold UA")
    ax.set_title(f"fold pairing: n = 5, p = {by_fold.pvalue:.4f} ({by_fold.method})")

    ax = axes[2]
    diff = spk_a - spk_b
    ax.hist(diff, bins=21, color="tab:blue")
    ax.axvline(0, color="k", lw=1)
    ax.axvline(np.median(diff), color="tab:red", lw=1.5, label=f"median {np.median(diff):+.3f}")
    ax.set_xlabel("UA(A) - UA(B) per speaker")
    ax.set_ylabel("speakers")
    ax.set_title(f"speaker pairing: n = {by_speaker.n}, p = {by_speaker.pvalue:.2g} "
                 f"({by_speaker.method})")
    ax.legend()
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "08_significance.png"
    fig.savefig(path, dpi=110)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
