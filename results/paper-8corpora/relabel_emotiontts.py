"""Write emotiontts's manifest with its angry and sad labels the right way round.

The staged manifest (../shared/corpora/emotiontts/manifest.csv, read-only here) labels the
recordings numbered 00201–00300 angry and 00301–00400 sad, after the corpus README. Their own
scripts say the opposite: every 002xx text is sad ("hearing that from you really hurts", "I got
my draft notice, so depressed", "I cannot contain my grief") and every 003xx text is angry ("how
many more times must I tell you to quit drinking?", "is it that hard to turn the radio down?").
The audio agrees: 002xx is the quietest class of both parts of the corpus, and every model of
the eight-corpus run calls the 002xx recordings sad and the 003xx ones angry far more often than
the other way round (docs/results.md, "emotiontts's labels").

The class comes from the recording's number (00001–00100 neutral, 00101–00200 happy, 00201–00300
sad, 00301–00400 angry), whatever the input says, so the output is right whether or not the
staged manifest is ever corrected. Paths are rewritten relative to the output's folder; every
other column is kept. ``--levels`` prints instead, as a Markdown table, each class's mean RMS
level in each part of the corpus (the audio's part of the evidence). Usage, from the repository
root:

    python results/paper-8corpora/relabel_emotiontts.py ../shared/corpora/emotiontts/manifest.csv OUT.csv
    python results/paper-8corpora/relabel_emotiontts.py --levels ../shared/corpora/emotiontts/manifest.csv
"""
import csv
import os
import re
import sys

import numpy as np
import soundfile

from numser.atomic import atomic_open

CLASS_BY_HUNDRED = ("neutral", "happy", "sad", "angry")
NUMBER = re.compile(r"(\d{5})\.\w+$")          # ".../wav/nea00201.flac" -> 00201


def read_manifest(source):
    """(columns, rows) of the manifest ``source``, each row given its ``number_class``, the class
    its recording number says."""
    with open(source, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns, rows = reader.fieldnames, list(reader)
    for i, row in enumerate(rows, start=2):
        m = NUMBER.search(row["path"])
        if not m or not 0 <= int(m.group(1)) // 100 < len(CLASS_BY_HUNDRED):
            sys.exit(f"relabel_emotiontts.py: {source}, row {i}: no recording number 00001–00400 "
                     f"in path {row['path']!r}")
        row["number_class"] = CLASS_BY_HUNDRED[int(m.group(1)) // 100]
    return columns, rows


def relabel(source, out):
    """Write ``out`` from the manifest ``source``; returns how many labels changed."""
    columns, rows = read_manifest(source)
    changed = 0
    for row in rows:
        label = row.pop("number_class")
        changed += label != row["label"]
        row["label"] = label
        audio = os.path.join(os.path.dirname(os.path.abspath(source)), row["path"])
        row["path"] = os.path.relpath(audio, os.path.dirname(os.path.abspath(out)))
    with atomic_open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    return changed


def print_levels(source):
    """Mean RMS level, 20 log10(RMS) in dB re full scale averaged over the recordings, of each
    class by recording number (rows) in each part of the corpus (the path's first folder)."""
    _, rows = read_manifest(source)
    levels, staged = {}, {}
    for row in rows:
        path = os.path.join(os.path.dirname(source), row["path"])
        try:
            audio, _ = soundfile.read(path)
        except (OSError, RuntimeError) as e:        # soundfile's errors subclass these
            sys.exit(f"relabel_emotiontts.py: {path}: cannot read the audio ({e})")
        if not np.any(audio):
            sys.exit(f"relabel_emotiontts.py: {path}: silent (no level in dB)")
        key = (row["number_class"], row["path"].split("/")[0])
        levels.setdefault(key, []).append(20 * np.log10(np.sqrt(np.mean(audio ** 2))))
        staged.setdefault(row["number_class"], set()).add(row["label"])
    parts = sorted({part for _, part in levels})
    print("## emotiontts's levels\n\nMean RMS level (dB re full scale) of each class of "
          f"{source}, by recording number, in each part of the corpus.\n")
    print("| class by number | recordings | label as staged | " + " | ".join(parts) + " |")
    print("|---" * (3 + len(parts)) + "|")
    for hundred, number_class in enumerate(CLASS_BY_HUNDRED):
        dbs = " | ".join(f"{np.mean(levels[number_class, part]):.1f}" for part in parts)
        print(f"| {number_class} | {100 * hundred + 1:05d}–{100 * hundred + 100:05d} "
              f"| {', '.join(sorted(staged[number_class]))} | {dbs} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("Usage, from the repository root:")[1].strip())
    if sys.argv[1] == "--levels":
        print_levels(sys.argv[2])
    else:
        n = relabel(*sys.argv[1:])
        print(f"relabel_emotiontts.py: {sys.argv[2]}: {n} labels changed (angry <-> sad)",
              file=sys.stderr)
