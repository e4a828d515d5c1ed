#!/usr/bin/env bash
# Resume the eight-corpus run at the start of a working session, as every session since the
# first did by hand. From the main work tree (the repository root, on main):
#
#     bash results/paper-8corpora/restart.sh [WHY]      # RUN_TREE defaults to ../numser-run
#
# WHY, for the INTERRUPTIONS.md row, defaults to "session ended".
#
# 1. Saves what the last session's run finished after its last results commit: the finished
#    results still in RUN_TREE (if it survived) are copied here, the tables rebuilt and
#    committed.
# 2. Points RUN_TREE at this commit (a detached work tree of its own, so that code commits never
#    change the files under a running run.sh) and starts run.sh there, detached and niced, its
#    output appended to ../run-logs/run.log; finished tasks are skipped and tasks in flight
#    resume from their checkpoints (in ~/.cache/numser, if this is the same machine).
# 3. Starts commit_loop.sh, which commits finished results here every 5 minutes.
# 4. Logs the restart in INTERRUPTIONS.md: from when the last run stopped (the last write to
#    run.log, or the last finished task on a fresh machine) to now, and commits it.
#
# Refuses while a run.sh or commit_loop.sh of this run is already running. To stop the run at the
# end of a session: kill the commit loop, then SIGTERM the numser.cv process (its tasks keep
# their last epoch's checkpoint).
set -euo pipefail
cd "$(dirname "$0")/../.."
main_tree=$PWD
run_tree=$(realpath -m "${RUN_TREE:-../numser-run}")
logs=$(realpath -m ../run-logs)
OUT=results/paper-8corpora
running="(results/paper-8corpora/run|commit_loop)\.sh"
if pgrep -f "$running" > /dev/null; then
    echo "restart.sh: run.sh or commit_loop.sh is already running:" >&2
    pgrep -af "$running" >&2
    exit 1
fi
[ -z "$(git status --porcelain -- $OUT)" ] || { echo "restart.sh: uncommitted changes under $OUT here; commit them first" >&2; exit 1; }
mkdir -p "$logs"

# 1. what the last session finished after its last results commit
old_sha=unknown
if [ -d "$run_tree" ]; then
    old_sha=$(git -C "$run_tree" rev-parse --short HEAD)
    bash $OUT/commit_loop.sh "$run_tree" "$main_tree" 0
else
    git worktree prune
fi

# when the last run stopped: the last write to its log, else the last finished task
if [ -f "$logs/run.log" ]; then
    stopped="≈ $(date -u -r "$logs/run.log" +%FT%TZ)"
else
    last=$(python -c 'import glob, json, sys; print(max(json.load(open(f))["finished"] for f in glob.glob(sys.argv[1])))' "$OUT/*/tasks/*.json")
    stopped="≈ ${last}Z (last finished task)"
fi

# 2. the run, on this commit
sha=$(git rev-parse --short HEAD)
if [ -d "$run_tree" ]; then
    git -C "$run_tree" checkout -q -f --detach "$sha"
else
    git worktree add -q --detach "$run_tree" "$sha"
fi
started=$(date -u +%FT%TZ)
(cd "$run_tree" && PYTHONPATH="$run_tree" setsid nohup nice -n 10 bash $OUT/run.sh \
    >> "$logs/run.log" 2>&1 < /dev/null &)

# 3. the commit loop, from a copy (a checkout here must not change the script under it)
cp $OUT/commit_loop.sh "$logs/commit_loop.sh"
(setsid nohup bash "$logs/commit_loop.sh" "$run_tree" "$main_tree" >> "$logs/commit.log" 2>&1 < /dev/null &)

# 4. the log of interruptions
where="on the same machine: the cache kept, the tasks in flight resumed from their last epoch"
[ -d "$HOME/.cache/numser/checkpoints" ] || where="on a fresh machine: features re-extracted, the tasks in flight restarted from epoch 0"
echo "| $stopped | $started | ${1:-session ended}; restarted $where | $old_sha → $sha |" >> $OUT/INTERRUPTIONS.md
git commit -q -m "INTERRUPTIONS.md: run restarted at $started on $sha" -- $OUT/INTERRUPTIONS.md
echo "restart.sh: run.sh started at $started on $sha in $run_tree (log: $logs/run.log); commit loop log: $logs/commit.log"
