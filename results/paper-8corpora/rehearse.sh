#!/usr/bin/env bash
# A rehearsal of run.sh: its phases with the same options (a shared split, the stable recipe,
# seeds, training fractions, leave-one-corpus-out and best_stable.py, the 1D-CNN-LSTM), on three
# small corpora, 4 utterances per speaker, 1 epoch, then report.sh on the result: 1 min 46 s on
# 2 cores beside the real run. It checks the glue between the phases before hours of the real
# run depend on it; its numbers mean nothing. From the repository root:
#
#     bash results/paper-8corpora/rehearse.sh [OUT]      # OUT defaults to /tmp/numser-rehearsal
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/numser-rehearsal}
mkdir -p "$OUT" && printf "| from | to | what | code |\n" > "$OUT/INTERRUPTIONS.md"
CORPORA=()
for c in emodb emovo casia; do CORPORA+=(--corpus "manifest=../shared/corpora/$c"); done
cv() { python -m numser.cv "${CORPORA[@]}" --jobs 2 --max-per-speaker 4 --epochs 1 --cache "$OUT/cache" "$@"; }
split() { echo --folds-from "$OUT/paper/folds.csv"; }
cv --out "$OUT/paper" --methods dnn-elm,lstm-elm,3d-cnn-dnn --kernels 2x2x2 --depths 3,2
cv --out "$OUT/stable" --recipe stable $(split) --seed 0 --methods 3d-cnn-dnn,3d-cnn-dnn-elm --kernels 2x2x2 --depths 3
cv --out "$OUT/stable" --recipe stable $(split) --seed 0 --methods dnn-elm,lstm-elm
cv --out "$OUT/paper" --seeds 1 --methods dnn-elm,3d-cnn-dnn --kernels 2x2x2 --depths 3
for f in 0.25 0.5; do
    cv --out "$OUT/fraction-$f" --train-fraction $f $(split) --seed 0 --methods 3d-cnn-dnn,lstm-elm --kernels 2x2x2 --depths 3
done
cv --out "$OUT/loco" --protocol loco --methods dnn-elm,lstm-elm,3d-cnn-dnn --kernels 2x2x2 --depths 3
best=$(python results/paper-8corpora/best_stable.py "$OUT/stable")
cv --out "$OUT/loco-stable" --protocol loco --recipe stable $best
cv --out "$OUT/paper" --methods 1d-cnn-lstm --cells 128
bash results/paper-8corpora/report.sh "$OUT"
