"""Train on two corpora, predict a third: ``numser.train`` → model file → ``numser.predict``.

The two commands a user types, run here in-process:

    python -m numser.train --corpus emodb=DIR --corpus ravdess=DIR --method dnn-elm --out M.npz
    python -m numser.predict M.npz emovo/manifest.csv --out predictions.csv

The third corpus (EMOVO, Italian) shares no speaker, language or studio with the training corpora:
this is cross-corpus accuracy, what a model meets on new recordings. EMOVO's manifest names the
speakers, so the gain is normalised per speaker as in training (docs/predict.md). Draws the
confusion matrix (row %) and the distribution of the predicted class's probability, correct and
wrong. Without the staged corpora (../shared/corpora or $NUMSER_CORPORA) it uses three synthetic
corpora of different voices instead. See docs/predict.md.
"""
import argparse
import csv
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("NUMSER_CORPORA", ROOT.parent / "shared" / "corpora"))


def corpora(out, quick):
    """(two training specs, the test manifest): real corpora when staged, synthetic otherwise."""
    names = ("emodb", "ravdess", "emovo")
    if all((CORPORA / n / "manifest.csv").exists() for n in names):
        return ([f"emodb={CORPORA / 'emodb'}", f"ravdess={CORPORA / 'ravdess'}"],
                CORPORA / "emovo" / "manifest.csv")
    from numser.corpora import generate_synthetic, write_manifest
    print(f"(EmoDB, RAVDESS or EMOVO not staged under {CORPORA}: three synthetic corpora instead)")
    manifests = []
    for k, name in enumerate(("synth_a", "synth_b", "synth_c")):
        folder = out / "cache" / name
        utts = generate_synthetic(folder, seed=10 + k, n_speakers=6, per_emotion=2 if quick else 4)
        utts = [dataclasses.replace(u, corpus=name, speaker=name + u.speaker[len("synthetic"):])
                for u in utts]
        write_manifest(utts, folder / "named.csv")
        manifests.append(folder / "named.csv")
    return [f"manifest={m}" for m in manifests[:2]], manifests[2]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(ROOT / "examples" / "out"), help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="6 utterances per training speaker, 2 epochs (seconds instead of minutes)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from numser import CLASSES
    from numser import predict, train_command
    from numser.metrics import confusion_matrix, row_normalised, unweighted_accuracy

    train_specs, test_manifest = corpora(out, args.quick)
    model = out / "model_dnn-elm.npz"
    argv = sum([["--corpus", s] for s in train_specs], []) + [
        "--method", "dnn-elm", "--cache", str(out / "cache"), "--out", str(model),
        "--epochs", "2" if args.quick else "20"] + (["--max-per-speaker", "6"] if args.quick else [])
    print("python -m numser.train " + " ".join(argv))
    if train_command.main(argv) != 0:
        sys.exit("training failed")
    predictions = out / "predictions.csv"
    print(f"python -m numser.predict {model} {test_manifest} --out {predictions}")
    if predict.main([str(model), str(test_manifest), "--out", str(predictions)]) != 0:
        sys.exit("prediction failed")

    with open(test_manifest, newline="", encoding="utf-8") as f:
        truth = {os.path.normpath(test_manifest.parent / r["path"]): CLASSES.index(r["label"])
                 for r in csv.DictReader(f)}
    with open(predictions, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))
                if r["label"]]
    y_true = np.array([truth[r["path"]] for r in rows])
    y_pred = np.array([CLASSES.index(r["label"]) for r in rows])
    p_top = np.array([max(float(r[f"p_{c}"]) for c in CLASSES) for r in rows])
    ua = unweighted_accuracy(y_true, y_pred)
    cm = row_normalised(confusion_matrix(y_true, y_pred))
    print(f"\ncross-corpus UA on {test_manifest.parent.name}: {ua:.3f} over {len(rows)} files "
          f"(chance 0.25)")
    print("confusion, % of each true class (rows true, columns predicted):")
    for c, row in zip(CLASSES, cm):
        print(f"  {c:>8} " + " ".join(f"{v:6.1f}" for v in row))
    right = y_true == y_pred
    print(f"mean probability of the predicted class: {p_top[right].mean():.3f} when right, "
          f"{p_top[~right].mean() if (~right).any() else float('nan'):.3f} when wrong")

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    im = a.imshow(cm, cmap="Blues", vmin=0, vmax=100)
    a.set(xticks=range(4), yticks=range(4), xticklabels=CLASSES, yticklabels=CLASSES,
          xlabel="predicted", ylabel="true", title=f"{test_manifest.parent.name}: UA {ua:.3f}")
    for i in range(4):
        for j in range(4):
            a.text(j, i, f"{cm[i, j]:.0f}", ha="center", va="center")
    fig.colorbar(im, ax=a, label="% of true class")
    bins = np.linspace(0.25, 1, 16)
    b.hist([p_top[right], p_top[~right]], bins=bins, label=["right", "wrong"])
    b.set(xlabel="probability of the predicted class", ylabel="files",
          title="confidence, right and wrong")
    b.legend()
    fig.tight_layout()
    fig.savefig(out / "11_cross_corpus.png", dpi=100)
    print(f"wrote {out / '11_cross_corpus.png'}: left the confusion matrix, right how sure the "
          f"model was when right and when wrong")


if __name__ == "__main__":
    main()
