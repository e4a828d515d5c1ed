#!/usr/bin/env bash
# Every table and figure docs/results.md shows, rebuilt from the committed task results (no
# training): each run folder's report, the side-by-side comparisons, the learning curve and
# the cost. Run from the repository root once run.sh has finished (a folder not there yet is
# skipped, with a line saying so):
#
#     bash results/paper-8corpora/report.sh [--no-figures] [results/paper-8corpora]
#
# --no-figures rebuilds the text only, in seconds: commit_loop.sh does that with every results
# commit, so that the committed tables always match the committed task results.
set -euo pipefail
cd "$(dirname "$0")/../.."
figures=()
if [ "${1:-}" = --no-figures ]; then figures=(--no-figures); shift; fi
OUT=${1:-results/paper-8corpora}
have() { compgen -G "$OUT/$1/tasks/*.json" > /dev/null; }

for run in paper stable fraction-0.25 fraction-0.5 loco loco-stable labels; do
    if have $run; then
        python -m numser.report "${figures[@]}" "$OUT/$run" > /dev/null && echo "$OUT/$run/tables.md"
    else
        echo "skipped: no task results in $OUT/$run yet" >&2
    fi
done
if have paper && have stable; then        # the stable recipe against the paper's, same split
    python -m numser.compare "$OUT/paper" "$OUT/stable" --names paper,stable \
        --out "$OUT/stable/vs_paper.md" > /dev/null && echo "$OUT/stable/vs_paper.md"
fi
for pair in paper:loco stable:loco-stable; do   # each speaker tested pooled and with its corpus held out
    pooled=${pair%:*} loco=${pair#*:}
    if have $pooled && have $loco; then
        python -m numser.compare "$OUT/$pooled" "$OUT/$loco" --names pooled,loco \
            --out "$OUT/$loco/vs_pooled.md" > /dev/null && echo "$OUT/$loco/vs_pooled.md"
    fi
done
if have paper && have labels; then        # emotiontts's angry and sad labels as staged and put right
    python -m numser.compare "$OUT/paper" "$OUT/labels" --names as-staged,relabelled \
        --out "$OUT/labels/vs_paper.md" > /dev/null && echo "$OUT/labels/vs_paper.md"
fi
rescore=()                                # emotiontts's labels put right in the tasks' own predictions
for run in paper stable loco loco-stable; do if have $run; then rescore+=("$OUT/$run"); fi; done
if have paper && have labels; then rescore+=(--trained-right "$OUT/labels"); fi   # against paper/
if have stable; then rescore+=(--confusions "$OUT/stable"); fi   # complete, none collapsed
if [ ${#rescore[@]} -gt 0 ]; then
    python results/paper-8corpora/rescore_emotiontts.py "${rescore[@]}" > "$OUT/emotiontts_rescored.md" \
        && echo "$OUT/emotiontts_rescored.md"
fi
staged=../shared/corpora/emotiontts/manifest.csv   # the audio's part of the evidence for the swap
if [ -f $staged ]; then
    python results/paper-8corpora/relabel_emotiontts.py --levels $staged > "$OUT/emotiontts_levels.md" \
        && echo "$OUT/emotiontts_levels.md"
else
    echo "skipped: $staged not here (emotiontts's levels)" >&2
fi
if have paper && compgen -G "results/paper-4corpora/tasks/*.json" > /dev/null; then
    # the 69 speakers of the four-corpus run, trained with four corpora there and eight here
    python -m numser.compare results/paper-4corpora "$OUT/paper" --names 4-corpora,8-corpora \
        --out "$OUT/paper/vs_4corpora.md" > /dev/null && echo "$OUT/paper/vs_4corpora.md"
fi
if have fraction-0.25 && have fraction-0.5 && have paper; then
    python -m numser.learning_curve "$OUT/fraction-0.25" "$OUT/fraction-0.5" "$OUT/paper" \
        --out "$OUT/curve" "${figures[@]}" > /dev/null && echo "$OUT/curve/learning_curve.md"
fi
python results/paper-8corpora/cost.py "$OUT" > "$OUT/cost.md" && echo "$OUT/cost.md"
