#!/usr/bin/env bash
# How the eight-corpus run's results reached the repository while it ran: every 5 minutes, copy the
# finished results from the run's work tree into the main work tree, rebuild each run folder's
# tables there (numser.report --no-figures: text only, so the interim tables.md always matches the
# committed tasks) and commit them; files being written (atomic writes: hidden temporary files) are
# left for the next round. The run itself goes in a separate work tree so that code
# commits never change the files under a running run.sh. restart.sh sets both up and starts them.
#
# Usage: commit_loop.sh RUN_TREE MAIN_TREE [SECONDS]; SECONDS 0: one round now, for a run that has
# stopped (restart.sh). INTERRUPTIONS.md is kept by hand in MAIN_TREE.
set -u
run_tree=$(cd "$1" && pwd) main_tree=$(cd "$2" && pwd) every=${3:-300}
state="in progress"
[ "$every" = 0 ] && state=stopped
while true; do
    sleep "$every"
    sha=$(git -C "$run_tree" rev-parse --short HEAD)
    (cd "$run_tree" && find results/paper-8corpora ! -name INTERRUPTIONS.md ! -name '.*' \( -name '*.json' \
        -o -name '*.csv' -o -name '*.md' -o -name '*.png' \) -exec cp --parents {} "$main_tree/" \;)
    cd "$main_tree" || exit 1
    for d in results/paper-8corpora/*/; do
        if compgen -G "$d/tasks/*.json" > /dev/null; then
            python -m numser.report --no-figures "$d" > /dev/null
        fi
    done
    git add results/paper-8corpora
    if ! git diff --cached --quiet; then
        n=$(find results/paper-8corpora -path '*/tasks/*.json' | wc -l)
        git commit -q -m "results/paper-8corpora: $n finished task results so far (run.sh at $sha, $state); tables rebuilt from them" \
            && echo "$(date -u +%FT%TZ) committed $n"
    fi
    [ "$every" = 0 ] && break
done
