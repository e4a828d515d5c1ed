#!/usr/bin/env bash
# A rehearsal of run.sh: every phase of it, unchanged (a shared split, the stable recipe, seeds,
# training fractions, leave-one-corpus-out and best_stable.py, the 1D-CNN-LSTM), on three small
# corpora, 4 utterances per speaker, 1 epoch, then report.sh on the result. It checks the glue
# between the phases before hours of the real run depend on it; its numbers mean nothing.
# From the repository root:
#
#     bash results/paper-8corpora/rehearse.sh [OUT]      # OUT defaults to /tmp/numser-rehearsal
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/numser-rehearsal}
mkdir -p "$OUT" && printf "| from | to | what | code |\n" > "$OUT/INTERRUPTIONS.md"
OUT=$OUT CORPUS_NAMES="emodb emotiontts casia" CV_OPTIONS="--max-per-speaker 4 --epochs 1 --cache $OUT/cache" \
    bash results/paper-8corpora/run.sh
bash results/paper-8corpora/report.sh "$OUT"
