"""``tables.md``: a run's results (:func:`numser.results.build_results`) as Markdown.

Table 3 (best / worst / mean ± std UA per kernel, beside the paper's), Table 4 (parameters, UA
beside the paper's, WA and macro-F1 mean ± std over all folds of all seeds, collapsed folds,
Wilcoxon p against the best proposed model), the leave-one-corpus-out table, UA per corpus, the
seed spread, the significance of every proposed model against every other, Table 5
(row-normalised confusion matrices in %) and the cost, with the commits and machines the tasks
ran on.
"""
import numpy as np

from numser import CLASSES
from numser.methods import PAPER_TABLE3
from numser.metrics import row_normalised
from numser.results import (ALPHA, in_table3, row_key, seed_means_spread, seed_spread,
                            significance_summary)

COLLAPSE_NOTE = ("collapsed: tasks whose test predictions put ≥ 95 % of the utterances in one "
                 "class (the class most of them predict): their UA measures no learning.")


def tables_markdown(results):
    """Table 3, Table 4, per-corpus UA, significance, Table 5 and cost as Markdown."""
    s_all = results["summaries"]
    lines = _run_line(results["settings"]) if results["settings"] else []
    if results.get("loco"):
        lines += _loco_lines(results["loco"])
    lines += _table3_lines(results) + _table4_lines(results)
    corpora = sorted({c for s in s_all for c in s["per_corpus_ua"]})
    if len(corpora) > 1:
        lines += ["", "## UA per corpus (pooled test predictions of all folds and seeds)", "",
                  "| method | configuration | " + " | ".join(corpora) + " |",
                  "|---|---|" + "---|" * len(corpora)]
        for s in s_all:
            lines.append(f"| {s['method']} | {s['config']} | " + " | ".join(
                f"{s['per_corpus_ua'].get(c, float('nan')):.3f}" for c in corpora) + " |")
    lines += _seed_lines(s_all)
    lines += _significance_lines(results)
    figure_rows = [s for s in s_all if row_key(s) in results.get("figure_rows", [])]
    others = [s for s in s_all if s not in figure_rows]
    lines += ["", "## Table 5 — confusion matrices (%, rows: true class, summed over folds)", "",
              "The paper's four methods, each in its configuration with the best mean UA.", ""]
    lines += _confusion_tables(figure_rows)
    if others:
        lines += ["## Confusion matrices of the other rows", ""] + _confusion_tables(others)
    lines += ["## Cost (seconds, summed over folds)", ""]
    if results.get("time"):
        t = results["time"]
        lines += [f"{t['n_tasks']} tasks: {t['task_seconds'] / 3600:.2f} h of task time (training "
                  f"and evaluation, summed over tasks), {t['wall_seconds'] / 3600:.2f} h of wall "
                  "time (while at least one task ran).", ""]
    for what, key in (("Code: the tasks ran on git commit", "commits"),
                      ("Machines: the tasks ran on", "machines")):
        if results.get(key):
            lines += [f"{what} " + ", ".join(f"{v} ({n} task{'s' * (n > 1)})" for v, n in
                                            results[key]) + ", in the order first used.", ""]
    lines += ["| method | configuration | train | evaluate | best epochs |", "|---|---|---|---|---|"]
    for s in s_all:
        lines.append(f"| {s['method']} | {s['config']} | {s['seconds_train']:.0f} | "
                     f"{s['seconds_eval']:.0f} | {', '.join(map(str, s['best_epochs']))} |")
    return "\n".join(lines) + "\n"


def _table3_lines(results):
    table3 = results.get("table3", [])
    if not table3:
        return []
    seeds = sorted(set(table3[0]["seeds"]))        # every Table 3 row has the same ones
    others = sorted({seed for s in results["summaries"] if in_table3(s) for seed in s["seeds"]}
                    - set(seeds))
    if others:
        over = f"all folds of seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}"
        note = [f"Every kernel on the seeds all of them ran, so that best and worst are over as "
                f"many folds; seed{'s' * (len(others) > 1)} {', '.join(map(str, others))} of "
                "some kernels are in Table 4 and the seed spread.", ""]
    else:   # Table 3's own seeds: other rows may have run more
        over, note = _seeds_phrase(len(seeds)), []
    lines = [f"## Table 3 — 3D-CNN-DNN (depth 3) by kernel (L x T x S), UA over {over}", ""]
    lines += note + ["paper: the paper's Table 3 (best / worst / mean ± std over its folds).", "",
                     "| kernel | best | worst | mean ± std | paper | folds | collapsed |",
                     "|---|---|---|---|---|---|---|"]
    for s in table3:
        kernel = tuple(s["kwargs"]["kernel"])
        paper = PAPER_TABLE3.get(kernel)
        paper = "–" if paper is None else "{:.3f} / {:.3f} / {:.3f} ± {:.2f}".format(*paper)
        lines.append(f"| {'x'.join(map(str, kernel))} | {s['best']:.3f} | {s['worst']:.3f} | "
                     f"{s['mean']:.3f} ± {s['std']:.3f} | {paper} | {_folds_cell(s)} | "
                     f"{_collapsed_cell(s)} |")
    return lines + ["", COLLAPSE_NOTE, ""]


def _table4_lines(results):
    s_all = results["summaries"]
    tests = {(t["a"], t["b"]): t for t in results["tests"]}
    ref = results["reference"]
    n_seeds = max(s.get("n_seeds", 1) for s in s_all)
    lines = ["## Table 4 — UA of the speaker-independent experiments "
             f"({_recipe(results['settings'])})", "",
             f"Mean ± std over {_seeds_phrase(n_seeds)}. WA: overall accuracy; macro-F1: mean F1 "
             "over the classes present.", ""]
    if len(results["table4_rows"]) < len(s_all):
        lines += ["The paper's Table 4 configurations only: Table 3's other kernels are in Table 3, "
                  "per corpus and in the cost table, not in Table 4 or the significance tests.", ""]
    if ref:
        lines += [f"p: two-sided Wilcoxon signed-rank test against the best proposed model ({ref}), "
                  "paired over the per-speaker UAs of every test speaker (* = p < .01); p (folds) "
                  "pairs the UAs of the (seed, fold) tasks both rows ran, which with one seed's 5 "
                  "folds can never go below 2/32 = .0625 (three seeds give 15 pairs).", ""]
    else:
        lines += ["No proposed model (3D-CNN) in this run: no significance tests.", ""]
    lines += ["paper UA: the paper's Table 4 (mean ± std over its folds).", "",
              "| method | configuration | parameters | paper (K) | UA mean ± std | paper UA | "
              "WA mean ± std | macro-F1 mean ± std | folds | collapsed | p | p (folds) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in (s for s in s_all if row_key(s) in results["table4_rows"]):
        t = tests.get((ref, row_key(s))) or tests.get((row_key(s), ref))
        none = "ref." if row_key(s) == ref else "–"
        lines.append(f"| {s['method']} | {s['config']} | {s['n_params']:,} | "
                     f"{s['paper_params_k'] or '–'} | {s['mean']:.3f} ± {s['std']:.3f} | "
                     f"{_paper_cell(s.get('paper_ua'))} | {s['wa_mean']:.3f} ± {s['wa_std']:.3f} | "
                     f"{s['macro_f1_mean']:.3f} ± {s['macro_f1_std']:.3f} | "
                     f"{_folds_cell(s)} | {_collapsed_cell(s)} | "
                     f"{format_p(t['speaker']['pvalue']) if t else none} | "
                     f"{format_p(t['fold']['pvalue']) if t else none} |")
    if any(s.get("n_collapsed") for s in s_all):
        lines += ["", COLLAPSE_NOTE]
    return lines


def _paper_cell(value):
    """The paper's UA as printed: mean ± std, or the mean alone; '–' when it has none."""
    if value is None:
        return "–"
    mean, std = value
    return f"{mean:.3f}" + (f" ± {std:.2f}" if std is not None else "")


def _loco_lines(loco):
    corpora = loco["corpora"]
    lines = ["## Leave one corpus out — UA on each held-out corpus", "",
             "Each column: trained on the other corpora (validation: 20 % of each training "
             "corpus's speakers), tested on every speaker of that corpus. Mean: over the held-out "
             "corpora. WA and macro-F1: mean over the tasks. Several seeds are averaged. The "
             "tables below treat each held-out corpus as a fold.", "",
             "| method | configuration | " + " | ".join(corpora) + " | mean UA | WA | macro-F1 |"
             " tasks |", "|---|---|" + "---|" * (len(corpora) + 4)]
    for r in loco["rows"]:
        cells = [f"{r['ua'][c]:.3f}" if c in r["ua"] else "–" for c in corpora]
        mean = "–" if r["mean"] is None else f"{r['mean']:.3f}"
        lines.append(f"| {r['method']} | {r['config']} | " + " | ".join(cells)
                     + f" | {mean} | {r['wa']:.3f} | {r['macro_f1']:.3f} | {r['n_tasks']} |")
    if loco["tests"]:
        lines += ["", "Between methods: two-sided Wilcoxon signed-rank tests on the per-speaker UAs "
                  f"of every held-out speaker (averaged over seeds), α = {ALPHA:g}; ΔUA: mean "
                  "over the speakers of model − vs.", "",
                  "| model | vs | n (speakers) | ΔUA | p (speakers) | method |",
                  "|---|---|---|---|---|---|"]
        for t in loco["tests"]:
            sp = t["speaker"]
            delta = "–" if sp.get("mean_difference") is None else f"{sp['mean_difference']:+.3f}"
            lines.append(f"| {t['a']} | {t['b']} | {sp['n']} | {delta} | "
                         f"{format_p(sp['pvalue'])} | {sp['method']} |")
    return lines + [""]


def _significance_lines(results):
    if not results["tests"]:
        return []
    by_key = {row_key(s): s for s in results["summaries"]}
    lines = ["", "## Significance — every proposed model against every other model", "",
             f"Summary: how many baselines and other proposed models each proposed model "
             f"beats (per-speaker p < {ALPHA:g} and a higher mean per-speaker UA), loses to, "
             "or does not differ from significantly (names given for up to three). collapsed: "
             "its tasks that predicted one class for ≥ 95 % of the test utterances.", "",
             "| proposed model | beats baselines | loses to baselines | n.s. baselines | "
             "beats proposed | loses to proposed | n.s. proposed | collapsed |",
             "|---|---|---|---|---|---|---|---|"]
    proposed = set(results["proposed"])
    for me, row in significance_summary(results).items():
        cells = []
        for group in (lambda k: k not in proposed, lambda k: k in proposed):
            for outcome in ("better", "worse", "ns"):
                keys = [k for k in row[outcome] if group(k)]
                cells.append(f"{len(keys)}" + (f": {'; '.join(keys)}" if 0 < len(keys) <= 3
                                               and outcome != "ns" else ""))
        lines.append(f"| {me} | " + " | ".join(cells) + f" | {_collapsed_cell(by_key[me])} |")
    collapsed = [s for s in results["summaries"] if row_key(s) in results["table4_rows"]
                 and s.get("n_collapsed")]
    lines += ["", "Collapsed models (a win against one, or a loss to one, says little): " + (
        "; ".join(f"{row_key(s)} in {_collapsed_cell(s)}" for s in collapsed) if collapsed
        else "none.")]
    speaker = [t["speaker"] for t in results["tests"]]
    significant = sum(1 for sp in speaker if sp["pvalue"] is not None and sp["pvalue"] < ALPHA)
    after_holm = sum(1 for sp in speaker if sp["p_holm"] is not None and sp["p_holm"] < ALPHA)
    lines += ["",
              f"Two-sided Wilcoxon signed-rank tests, α = {ALPHA:g}. 'speakers': pairs are the "
              "per-speaker UAs of every test speaker, averaged over the seeds (n pairs, zero "
              "differences dropped as SciPy's default); 'folds': pairs are the UAs of the "
              "(seed, fold) tasks both ran (5 pairs for one seed: smallest possible p = .0625, "
              f"so never significant at {ALPHA:g}; 15 for three seeds). p (Holm): the "
              "per-speaker p adjusted by Holm's method over all "
              f"{len(speaker)} tests of this table, which bounds the chance of any false "
              f"positive among them by α: {significant} of the {len(speaker)} are significant "
              f"at α = {ALPHA:g}, {after_holm} after the adjustment. The summary above counts "
              "the unadjusted tests, as the paper does.", "",
              "ΔUA: mean over the paired speakers of model − vs (positive: the model is better).",
              "", "| model | vs | n (speakers) | ΔUA | p (speakers) | p (Holm) | method "
              "| p (folds) |", "|---|---|---|---|---|---|---|---|"]
    for t in results["tests"]:
        sp, fo = t["speaker"], t["fold"]
        delta = "–" if sp.get("mean_difference") is None else f"{sp['mean_difference']:+.3f}"
        lines.append(f"| {t['a']} | {t['b']} | {sp['n']} | {delta} | {format_p(sp['pvalue'])} | "
                     f"{format_p(sp['p_holm'])} | {sp['method']} | "
                     f"{format_p(fo['pvalue'])} |")
    return lines


def _seed_lines(summaries):
    """The seed spread of the rows run with several seeds (none when every row has one)."""
    rows = [s for s in summaries if s.get("n_seeds", 1) > 1]
    if not rows:
        return []
    seeds = sorted({seed for s in rows for seed in s["seeds"]})
    lines = ["", "## Seed spread — UA of each repetition of the cross-validation", "",
             "Each seed draws its own speaker split, initial weights, dropout masks and batch "
             "order: its column is the mean UA over its folds (collapsed folds in "
             "brackets). std and range: of the seed means (seeds with every fold only).", "",
             "| method | configuration | " + " | ".join(f"seed {k}" for k in seeds)
             + " | std | range |", "|---|---|" + "---|" * (len(seeds) + 2)]
    for s in rows:
        spread = {r["seed"]: r for r in seed_spread(s)}
        std, width = seed_means_spread(list(spread.values()))
        whole = max(r["n"] for r in spread.values())          # a seed's folds when it is done
        cells = []
        for k in seeds:
            r = spread.get(k)
            cells.append("–" if r is None else f"{r['mean']:.3f}"
                         + (f" ({r['collapsed']})" if r["collapsed"] else "")
                         + (f", {r['n']} fold{'s' * (r['n'] > 1)}" if r["n"] != whole else ""))
        lines.append(f"| {s['method']} | {s['config']} | " + " | ".join(cells)
                     + f" | {std:.3f} | {width:.3f} |")
    return lines


def _confusion_tables(summaries):
    """Row-normalised confusion matrices (%) as Markdown tables, one per summary."""
    abbrev = [c[0].upper() for c in CLASSES]
    lines = []
    for s in summaries:
        cm = row_normalised(np.array(s["confusion"]))
        lines += [f"**{s['method']} ({s['config']})**", "",
                  "| | " + " | ".join(abbrev) + " |", "|---|" + "---|" * len(abbrev)]
        for a, row in zip(abbrev, cm):
            lines.append(f"| {a} | " + " | ".join("–" if np.isnan(v) else f"{v:.0f}"
                                                  for v in row) + " |")
        lines.append("")
    return lines


def _run_line(settings):
    seeds = settings.get("seeds", [settings.get("seed")])
    return [f"Run: corpora {', '.join(settings.get('corpora', []))}; "
            f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; "
            + ("leave one corpus out; " if settings.get("protocol") == "loco"
               else f"{settings.get('folds')} speaker-independent folds; ")
            + f"{settings.get('n_utterances')} utterances; at most {settings.get('epochs')} "
            f"epochs (patience {settings.get('patience')}); {_recipe(settings)}"
            + (f"; training on {settings['train_fraction']:.0%} of each fold's training speakers"
               if settings.get("train_fraction", 1.0) < 1.0 else "") + ".", ""]


def _recipe(settings):
    """'recipe paper (lr 0.003)': runs from before --recipe existed used the paper's."""
    return f"recipe {settings.get('recipe', 'paper')} (lr {settings.get('lr', 3e-3):g})"


def _seeds_phrase(n_seeds):
    return "all folds" if n_seeds <= 1 else f"all folds of all {n_seeds} seeds"


def _folds_cell(s):
    """Tasks of a row: ``5``, or ``15 (3 seeds)`` when it has several seeds."""
    n = len(s["folds"])
    return f"{n}" if s.get("n_seeds", 1) <= 1 else f"{n} ({s['n_seeds']} seeds)"


def _collapsed_cell(s):
    """Collapsed tasks of a row and the class they predict: ``0/5``, ``3/5 neutral``."""
    k = s.get("n_collapsed", 0)
    return f"{k}/{len(s['folds'])}" + (f" {s['collapsed_class']}" if k else "")


def format_p(p):
    if p is None:
        return "–"
    return f"{p:.2g}" + (" *" if p < ALPHA else "")
