"""Print the numser.cv arguments of the 3D configuration with the best mean *validation* UA in a
run folder (the stable-recipe run), so that the cross-corpus run picks it without looking at any
test fold. Usage: python results/paper-8corpora/best_stable.py results/paper-8corpora/stable
"""
import statistics
import sys

from numser.results import group, load_tasks


def best_3d(out):
    """((method, config), mean validation UA, folds) of the best complete 3D row of ``out``."""
    rows = {key: runs for key, runs in group(load_tasks(out)).items() if key[0].startswith("3d")}
    complete = {key: runs for key, runs in rows.items() if len(runs) == 5}
    if not complete:
        sys.exit(f"best_stable.py: no 3D configuration with all 5 folds in {out}")
    key = max(complete, key=lambda k: statistics.mean(t["val_ua"] for t in complete[k]))
    return key, statistics.mean(t["val_ua"] for t in complete[key]), complete[key]


if __name__ == "__main__":
    (method, _), val_ua, runs = best_3d(sys.argv[1])
    kw = runs[0]["kwargs"]
    print(f"best_stable.py: {method} {kw} mean validation UA {val_ua:.3f}", file=sys.stderr)
    print(f"--methods {method} --kernels {'x'.join(map(str, kw['kernel']))} --depths {kw['depth']}")
