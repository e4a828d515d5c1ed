#!/usr/bin/env bash
# How the eight-corpus run's results reached the repository while it ran: every 5 minutes, copy the
# finished results from the run's work tree into the main work tree, rebuild the tables there
# (report.sh --no-figures: every table and comparison, text only, so that they always match the
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
    bash results/paper-8corpora/report.sh --no-figures > /dev/null 2>&1 \
        || echo "$(date -u +%FT%TZ) report.sh --no-figures failed; the tables may lag the tasks"
    git add results/paper-8corpora
    if ! git diff --cached --quiet; then
        n=$(find results/paper-8corpora -path '*/tasks/*.json' | wc -l)
        git commit -q -m "results/paper-8corpora: $n finished task results so far (run.sh at $sha, $state); tables rebuilt from them" \
            && echo "$(date -u +%FT%TZ) committed $n"
    fi
    [ "$every" = 0 ] && break
done
