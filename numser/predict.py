"""``python -m numser.predict MODEL.npz INPUT...``: classify audio files with a trained model file.

INPUT is an audio file, a folder (searched recursively for audio files) or a manifest CSV (a
``path`` column, relative to the CSV's folder; optional ``speaker`` and ``label``). Output: one CSV
row per file, ``path,label,p_neutral,p_happy,p_sad,p_angry,error``, after one ``#`` comment line
that names the model and how the gain was normalised. A file that cannot be classified (missing,
empty, corrupt, not audio, silent, too short) gets an empty label and the reason in ``error``; the
others are still classified, and the exit status is 1 only when no file could be.

The paper normalises the gain per speaker (docs/spec.md §2.2): the min and max sample over all of a
speaker's utterances map to −1 and +1. A manifest's ``speaker`` column gives the speakers; files
given directly or found in folders have no known speaker, so each is normalised on its own (per
file) — on speakers with loud and quiet utterances this differs from training (docs/predict.md).

Every file is classified on its own (batch of one), so the same file gets the same probabilities
whatever else is given with it.
"""
import argparse
import csv
import io
import os
import sys
import time

import numpy as np

from numser import CLASSES
from numser.atomic import atomic_open
from numser.audio import _NEXT_STEP, load_audio
from numser.cli import log, run_command
from numser.corpora.manifest import label_index
from numser.errors import AudioError, FileFormatError
from numser.features import utterance_features
from numser.metrics import accuracy, confusion_matrix, macro_f1, unweighted_accuracy
from numser.model_file import load_model_file

#: Extensions searched for in folders (what libsndfile reads; case ignored).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc",
                    ".au", ".snd", ".caf", ".w64", ".rf64")
#: Shorter files are refused: 0.25 s is a syllable; the model sees the first 2 s, zero-padded.
MIN_SECONDS = 0.25
SR = 16000
COLUMNS = ("path", "label") + tuple(f"p_{c}" for c in CLASSES) + ("error",)

EXAMPLES = """
examples:
  python -m numser.predict models/emotion.npz recording.wav            # one file, CSV to stdout
  python -m numser.predict models/emotion.npz my_recordings/ --out predictions.csv
  python -m numser.predict models/emotion.npz ../shared/corpora/emovo/manifest.csv
      # a manifest: gain per speaker as in training; with labels, UA, WA and confusion on stderr
"""


class Item:
    """One file to classify: where it came from, its gain group, its label if known."""

    __slots__ = ("path", "group", "label", "error", "proba")

    def __init__(self, path, group, label=None, error=None):
        self.path, self.group, self.label, self.error = path, group, label, error
        self.proba = None


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m numser.predict", epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Classify audio files (any sample rate and channel count) into neutral, happy, "
                    "sad and angry with a model file from python -m numser.train or "
                    "numser.cv --keep-models. Writes CSV rows path,label,p_neutral,p_happy,p_sad,"
                    "p_angry,error; messages and progress go to stderr.")
    p.add_argument("model", metavar="MODEL.npz", help="a model file")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="an audio file, a folder (searched recursively for "
                        f"{', '.join(AUDIO_EXTENSIONS[:4])}, ... files) or a manifest CSV "
                        "(column path; optional speaker, label)")
    p.add_argument("--out", metavar="CSV", help="write the CSV here (atomically) instead of stdout")
    return p.parse_args(argv)


# --- inputs ---------------------------------------------------------------------------------

def collect(inputs):
    """The files the inputs name, in input order, as Items."""
    items = []
    for given in inputs:
        if given.lower().endswith(".csv") and os.path.isfile(given):
            items += read_input_manifest(given)
        elif os.path.isdir(given):
            found = _audio_files(given)
            if not found:
                log(f"predict: {given}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) found")
            items += [Item(f, ("file", f)) for f in found]
        else:
            items.append(Item(given, ("file", given)))
    return items


def _audio_files(folder):
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        out += [os.path.join(root, f) for f in sorted(files)
                if f.lower().endswith(AUDIO_EXTENSIONS)]
    return out


def read_input_manifest(csv_path):
    """Items of a manifest: ``path`` required; ``speaker`` (gain group) and ``label`` optional.

    A label that is not one of the four classes leaves the row unlabelled (still classified).
    Raises FileFormatError when the file is not a CSV with a ``path`` column.
    """
    folder = os.path.dirname(os.path.abspath(csv_path))
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:     # a BOM is not a column
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise FileFormatError(csv_path, f"cannot be read as a UTF-8 manifest ({e})") from None
    try:
        reader = csv.DictReader(io.StringIO(text))
        columns = [(c or "").strip().lower() for c in (reader.fieldnames or [])]
        if "path" not in columns:
            raise FileFormatError(csv_path, f"no 'path' column (found {columns}); a manifest "
                                            f"needs path and may have speaker, label",
                                  where="row 1 (header)")
        reader.fieldnames = columns
        items = []
        for row_number, row in enumerate(reader, start=2):
            values = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)
                      and isinstance(v, str)}
            if not values.get("path"):
                items.append(Item(f"{csv_path}:row {row_number}", ("row", row_number),
                                  error="empty 'path' in the manifest row"))
                continue
            path = os.path.normpath(os.path.join(folder, values["path"]))
            speaker = values.get("speaker")
            group = ("speaker", os.path.abspath(csv_path), speaker) if speaker else ("file", path)
            items.append(Item(path, group, label_index(values.get("label", ""))))
    except csv.Error as e:
        raise FileFormatError(csv_path, f"not a readable CSV ({e})") from None
    return items


# --- audio to probabilities -------------------------------------------------------------------

def _reason(error, path):
    """An AudioError's reason without the path it starts with and the corpus-scan advice."""
    text = str(error)
    if text.startswith(f"{path}: "):
        text = text[len(path) + 2:]
    return text.replace(f"; {_NEXT_STEP}", "")


def read_signal(path):
    """The 16 kHz mono signal of ``path``, or raise AudioError saying why it cannot be used."""
    y = load_audio(path, sr=SR)
    if len(y) < MIN_SECONDS * SR:
        raise AudioError(f"{path}: too short ({len(y) / SR * 1000:.0f} ms; at least "
                         f"{MIN_SECONDS * 1000:.0f} ms needed)")
    if y.min() == y.max():
        raise AudioError(f"{path}: silent (every sample equals {float(y[0])!r})")
    return y


def classify(trained, items, progress=True):
    """Fill ``proba`` (or ``error``) of every item, one gain group at a time."""
    groups = {}
    for item in items:
        if item.error is None:
            groups.setdefault(item.group, []).append(item)
    total, done, start, last = sum(map(len, groups.values())), 0, time.monotonic(), 0.0
    for members in groups.values():
        signals = {}
        for item in members:
            try:
                signals[id(item)] = read_signal(item.path)
            except AudioError as e:
                item.error = _reason(e, item.path)
                log(f"predict: skipped {item.path}: {item.error}")
        if signals:
            lo = min(float(y.min()) for y in signals.values())
            hi = max(float(y.max()) for y in signals.values())
        for item in members:
            if id(item) in signals:
                x = utterance_features(signals.pop(id(item)), trained.input_kind, lo, hi)
                item.proba = trained.predict_proba(x[None])[0]
            done += 1
            now = time.monotonic()
            if progress and now - last >= 3.0:
                last = now
                rate = done / max(now - start, 1e-9)
                log(f"predict: {done}/{total} files, {rate:.1f} files/s, "
                    f"ETA {(total - done) / max(rate, 1e-9):.0f} s")
    return time.monotonic() - start


# --- output ---------------------------------------------------------------------------------

def gain_statement(items):
    """How the gain was normalised, for the CSV's header comment."""
    by_speaker = sum(i.group[0] == "speaker" for i in items)
    if by_speaker == len(items):
        return "per speaker (the manifest's speaker column), as in training"
    if by_speaker == 0:
        return "per file (no manifest speakers given; training normalised per speaker)"
    return (f"per speaker for the {by_speaker} files with a manifest speaker, per file for the "
            f"other {len(items) - by_speaker}")


def header_comment(model_path, meta, items):
    t = meta["training"]
    return (f"# numser.predict model={model_path} method={meta['method']} ({meta['label']}) "
            f"trained on {'+'.join(t.get('corpora', []))} val_UA={t.get('val_ua', float('nan')):.3f}"
            f" numser {meta['numser_version']} {meta['git_commit']}; gain normalised "
            f"{gain_statement(items)}")


def write_csv(f, items, comment):
    f.write(comment + "\n")
    w = csv.writer(f, lineterminator="\n")
    w.writerow(COLUMNS)
    for item in items:
        if item.proba is None:
            w.writerow([item.path, ""] + [""] * len(CLASSES) + [item.error or "not classified"])
        else:
            w.writerow([item.path, CLASSES[int(np.argmax(item.proba))]]
                       + [f"{p:.6f}" for p in item.proba] + [""])


def scores(items):
    """UA, WA, macro-F1 and the confusion matrix over the classified labelled items, or None."""
    known = [i for i in items if i.label is not None and i.proba is not None]
    if not known:
        return None
    y_true = np.array([i.label for i in known])
    y_pred = np.array([int(np.argmax(i.proba)) for i in known])
    return {"n": len(known), "ua": unweighted_accuracy(y_true, y_pred),
            "wa": accuracy(y_true, y_pred), "macro_f1": macro_f1(y_true, y_pred),
            "confusion": confusion_matrix(y_true, y_pred)}


def format_scores(s):
    width = max(map(len, CLASSES))
    lines = [f"predict: {s['n']} labelled files: UA {s['ua']:.3f}, WA {s['wa']:.3f}, "
             f"macro-F1 {s['macro_f1']:.3f} (chance UA {1 / len(CLASSES):.2f})",
             "confusion (rows true, columns predicted): " + " ".join(f"{c:>{width}}" for c in CLASSES)]
    for c, row in zip(CLASSES, s["confusion"]):
        lines.append(f"  {c:>{width}} " + " ".join(f"{v:>{width}d}" for v in row))
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    return run_command("predict", lambda: _main(args))


def _main(args):
    trained = load_model_file(args.model)
    meta = trained.meta
    log(f"predict: {args.model}: {meta['method']} ({meta['label']}), trained on "
        f"{', '.join(meta['training'].get('corpora', []))}")
    items = collect(args.inputs)
    for item in items:
        if item.error:
            log(f"predict: skipped {item.path}: {item.error}")
    seconds = classify(trained, items)
    n_ok = sum(i.proba is not None for i in items)
    comment = header_comment(args.model, meta, items)
    if args.out:
        with atomic_open(args.out, "w", encoding="utf-8", newline="") as f:
            write_csv(f, items, comment)
    else:
        write_csv(sys.stdout, items, comment)
        sys.stdout.flush()
    log(f"predict: {n_ok} of {len(items)} files classified in {seconds:.1f} s"
        + (f" ({seconds / n_ok * 1000:.0f} ms per file)" if n_ok else "")
        + (f"; {len(items) - n_ok} could not be (see the error column)" if n_ok < len(items) else "")
        + (f"; wrote {args.out}" if args.out else ""))
    s = scores(items)
    if s:
        log(format_scores(s))
    return 0 if n_ok else 1


if __name__ == "__main__":
    sys.exit(main())
