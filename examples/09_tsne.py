"""t-SNE of learned features at three perplexities, as in the paper's Figure 3 (docs/spec.md §6).

Run:  python examples/09_tsne.py [--out examples/out] [--quick]

1. Features: the top FC layer's activations (512 per utterance, numser.models.Model.embed) of a
   3D-CNN-DNN trained for a few epochs on a small synthetic corpus (16 speakers × 4 emotions × 4
   utterances; training speakers as in fold 0 of the protocol). With --quick, no network: the
   mean over frames of the 32 low-level descriptors of each utterance (8 speakers × 2 per emotion).
   The paper embeds one test fold; here a fold holds only 3–4 speakers (64 utterances), too few
   for perplexity 50, so every utterance is embedded and the held-out speakers are drawn as
   triangles.
2. numser.tsne.tsne at perplexities 5, 30 and 50 (same seed, 1000 iterations), side by side,
   coloured as in Figure 3: neutral green, happy orange, sad blue, angry red.
3. Leave-one-out 5-nearest-neighbour accuracy in each 2-D map and in the input space the map was
   made from: how much of the class structure the picture keeps.
Saves 09_tsne.png in --out.

t-SNE preserves neighbourhoods, not distances: cluster sizes and the gaps between clusters in
the picture mean little, and the perplexity (roughly, the number of neighbours each point
attends to) changes the picture — small values split it into many small clumps, large values
show the coarser structure.
"""
import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from numser import CLASSES  # noqa: E402
from numser.corpora.synthetic import generate_synthetic  # noqa: E402
from numser.features import Standardiser, extract_features  # noqa: E402
from numser.folds import speaker_folds  # noqa: E402
from numser.figures import COLOURS  # noqa: E402  (Figure 3's colours)
from numser.tsne import squared_distances, tsne  # noqa: E402

PERPLEXITIES = (5, 30, 50)


def corpus(out, kind, n_speakers, per_emotion, seed):
    """Standardised features, labels and the held-out mask of fold 0 of the synthetic corpus."""
    utts = generate_synthetic(out / "cache" / f"synthetic-n{n_speakers}-p{per_emotion}",
                              seed=seed, n_speakers=n_speakers, per_emotion=per_emotion)
    x, kept = extract_features(utts, kind, cache_dir=out / "cache" / "features", progress=False)
    utts = [utts[i] for i in kept]
    y = np.array([u.label for u in utts])
    speakers = np.array([u.speaker for u in utts])
    fold = speaker_folds([u.corpus for u in utts], speakers, n_folds=5, seed=seed)[0]
    train, val, test = fold.masks(speakers)
    x = Standardiser().fit(x[train]).transform(x)      # statistics of the training speakers only
    return x, y, train, val, test


def learned_features(out, seed):
    """Top-FC activations (N, 512) of a briefly trained 3D-CNN-DNN, and what it was trained on."""
    from numser.models import build
    from numser.train import TrainConfig, train
    x, y, tr, va, te = corpus(out, "volume", 16, 4, seed)                  # (N, 10, 10, 256)
    model = build("3d-cnn-dnn", kernel=(2, 2, 2), seed=seed, verbose=True)
    # lr 1e-3 and kernel 2×2×2 as in examples/06 (the paper's 3e-3 collapses on ~150 utterances).
    train(model, x[tr], y[tr], x[va], y[va],
          TrainConfig(lr=1e-3, batch_size=16, max_epochs=8, patience=None, seed=seed))
    emb = model.embed(x)                                                   # (N, 512)
    print(f"features: top FC activations {emb.shape} of {len(y)} utterances "
          f"({(va | te).sum()} of held-out speakers)")
    return emb, y, va | te, {"volumes": x.reshape(len(x), -1)}


def lld_features(out, seed):
    """Mean over frames of the 32 standardised descriptors (N, 32): no learning at all."""
    x, y, tr, va, te = corpus(out, "lld", 8, 2, seed)                      # (N, 198, 32)
    feats = x.mean(axis=1)                                                 # (N, 32)
    print(f"features: utterance means of the 32 LLDs {feats.shape} (--quick: no network)")
    return feats, y, va | te, {}


def knn_accuracy(X, y, k=5):
    """Leave-one-out k-NN accuracy: majority class of the k nearest other points.

    Ties between classes go to the class of the nearest point among the tied ones.
    """
    D = squared_distances(np.asarray(X, dtype=np.float64))                 # (N, N)
    np.fill_diagonal(D, np.inf)                                            # not its own neighbour
    nearest = np.argsort(D, axis=1)[:, :k]                                 # (N, k), nearest first
    correct = 0
    for i, idx in enumerate(nearest):
        votes = np.bincount(y[idx], minlength=len(CLASSES))
        tied = np.flatnonzero(votes == votes.max())
        pred = next(y[j] for j in idx if y[j] in tied)
        correct += pred == y[i]
    return correct / len(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    ap.add_argument("--quick", action="store_true",
                    help="LLD utterance means of 8 speakers instead of a trained 3D-CNN-DNN")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    feats, y, held_out, other = (lld_features if args.quick else learned_features)(args.out,
                                                                                   args.seed)
    print("\nleave-one-out 5-NN accuracy (chance 0.25 for balanced classes):")
    print(f"  input space ({feats.shape[1]}-dim): {knn_accuracy(feats, y):.3f}")
    for name, x in other.items():
        print(f"  the standardised {name} themselves ({x.shape[1]}-dim): {knn_accuracy(x, y):.3f}")

    fig, axes = plt.subplots(1, len(PERPLEXITIES), figsize=(4.2 * len(PERPLEXITIES), 4.4))
    for ax, perplexity in zip(axes, PERPLEXITIES):
        t1 = time.time()
        Y = tsne(feats, perplexity=perplexity, n_iter=1000, seed=args.seed)    # (N, 2)
        acc = knn_accuracy(Y, y)
        print(f"  t-SNE 2-D, perplexity {perplexity:2d}: {acc:.3f}   "
              f"({time.time() - t1:.1f} s)")
        for k, c in enumerate(CLASSES):
            for mask, marker, label in ((~held_out, "o", c), (held_out, "^", None)):
                m = mask & (y == k)
                ax.scatter(Y[m, 0], Y[m, 1], s=14, c=COLOURS[c], marker=marker, label=label,
                           alpha=0.8, edgecolors="none")
        ax.set_title(f"perplexity {perplexity}: 5-NN accuracy {acc:.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(fontsize=8, loc="best", title="▲ held-out speakers", title_fontsize=7)
    what = "LLD utterance means" if args.quick else "3D-CNN-DNN top FC activations"
    fig.suptitle(f"t-SNE of {what}, {len(y)} synthetic utterances", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out / "09_tsne.png", dpi=110)
    plt.close(fig)
    print(f"\nsaved {args.out / '09_tsne.png'}: the same {len(y)} points embedded at perplexity "
          f"{', '.join(map(str, PERPLEXITIES))}; colours neutral green, happy orange, sad blue, "
          f"angry red; triangles: speakers outside the training split"
          + ("" if args.quick else " (the network never saw them)"))
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
