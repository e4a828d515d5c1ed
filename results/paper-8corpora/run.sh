#!/usr/bin/env bash
# The eight-corpus runs behind docs/results.md (159 speakers, 4 537 utterances), in the order they
# were run. Run from the repository root, with the corpora in ../shared/corpora:
#
#     bash results/paper-8corpora/run.sh            # every phase, in order
#     bash results/paper-8corpora/run.sh stable     # one phase
#     DRY_RUN=1 bash results/paper-8corpora/run.sh  # what each phase has left (numser.cv --dry-run)
#
# Settings from the environment, for rehearse.sh (the defaults are the real run's): OUT (the
# results folder), CORPUS_NAMES (folders of ../shared/corpora), CV_OPTIONS (more numser.cv
# options), JOBS (worker processes, default 2).
#
# Resumable: finished tasks (OUT/tasks/*.json) are skipped, a task in flight resumes from its last
# epoch's checkpoint (in the --cache). Each folder holds one run.json of settings; numser.cv
# refuses to mix incomparable settings in one folder, hence one folder per recipe / protocol /
# training fraction. Same speaker split everywhere: every run after the first reads paper/folds.csv.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-results/paper-8corpora}
corpora() {        # the --corpus options in CORPORA; emotiontts read from the manifest $1 if given
    CORPORA=()
    for c in ${CORPUS_NAMES:-emodb ravdess urdu emovo ased nemo emotiontts casia}; do
        local manifest=../shared/corpora/$c
        if [ "$c" = emotiontts ] && [ -n "${1:-}" ]; then manifest=$1; fi
        CORPORA+=(--corpus "manifest=$manifest")
    done
}
corpora
JOBS=${JOBS:-2}
cv() { python -m numser.cv "${CORPORA[@]}" --jobs "$JOBS" ${CV_OPTIONS:-} ${DRY_RUN:+--dry-run} "$@"; }
split() { echo --folds-from "$OUT/paper/folds.csv"; }
BASELINES=dnn-elm,lstm-elm
DEPTH3_3D=(--methods 3d-cnn-dnn,3d-cnn-dnn-elm --kernels 2x2x2,2x2x32,2x2x128 --depths 3)

phase_table4() {   # Table 4 at the paper's recipe, seed 0; the 1D-CNN-LSTM is phase 1d (slowest)
    cv --out $OUT/paper --methods $BASELINES,3d-cnn-dnn,3d-cnn-dnn-elm,2d-cnn-lstm,2d-cnn-lstm-dnn \
       --kernels 2x2x2,2x2x32,2x2x128 --depths 3,2
}
phase_stable() {   # the stable recipe (docs/training.md): six depth-3 3D rows and the two ELMs
    cv --out $OUT/stable --recipe stable $(split) --seed 0 "${DEPTH3_3D[@]}"
    cv --out $OUT/stable --recipe stable $(split) --seed 0 --methods $BASELINES
}
phase_table3() {   # Table 3: the twelve depth-3 kernels of the 3D-CNN-DNN
    cv --out $OUT/paper --table3
}
phase_seeds() {    # seeds 1 and 2: three repetitions of the 5-fold CV for nine rows
    cv --out $OUT/paper --seeds 1,2 --methods $BASELINES
    cv --out $OUT/paper --seeds 1,2 --methods 2d-cnn-lstm-dnn --kernels 2x2x2
    cv --out $OUT/paper --seeds 1,2 "${DEPTH3_3D[@]}"
}
phase_curve() {    # learning curve: 25 % and 50 % of each fold's training speakers (100 %: paper/)
    for f in 0.25 0.5; do
        cv --out $OUT/fraction-$f --train-fraction $f $(split) --seed 0 \
           --methods 3d-cnn-dnn,lstm-elm --kernels 2x2x2 --depths 3
    done
}
phase_loco() {     # leave one corpus out; the stable 3D configuration: best mean validation UA
    cv --out $OUT/loco --protocol loco --methods $BASELINES,3d-cnn-dnn --kernels 2x2x2 --depths 3
    if ! best=$(python results/paper-8corpora/best_stable.py $OUT/stable); then
        [ -n "${DRY_RUN:-}" ] && return 0       # the stable phase has not finished: nothing to plan
        exit 1
    fi
    cv --out $OUT/loco-stable --protocol loco --recipe stable $best
}
phase_labels() {   # five 3-seed rows of Table 4 again, emotiontts's angry and sad put right
    local fixed=$OUT/labels/emotiontts/manifest.csv
    [ -n "${DRY_RUN:-}" ] || python results/paper-8corpora/relabel_emotiontts.py \
        ../shared/corpora/emotiontts/manifest.csv $fixed
    [ -f $fixed ] || return 0                    # a dry run before the manifest exists
    corpora $fixed
    for seed in 0 1 2; do                        # seed 0 of every row first
        cv --out $OUT/labels $(split) --seed $seed --methods $BASELINES,3d-cnn-dnn,3d-cnn-dnn-elm \
           --kernels 2x2x2 --depths 3
        cv --out $OUT/labels $(split) --seed $seed --methods 2d-cnn-lstm-dnn --kernels 2x2x2
    done
    corpora
}
phase_1d() {       # the 1D-CNN-LSTM (128 and 256 cells), then the whole Table 4 report
    cv --out $OUT/paper --table4 --table3
}

phases=(table4 stable table3 seeds curve loco labels 1d)
for p in "${@:-${phases[@]}}"; do
    echo "=== phase $p: $(date -u +%FT%TZ) at $(git rev-parse --short HEAD)" >&2
    "phase_$p"
done
