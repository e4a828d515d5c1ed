"""The utterance record every corpus loader returns, and the manifest CSV reader/writer (SPEC §1)."""
import csv
import os
from dataclasses import dataclass

from numser import CLASSES, ParameterError
from numser.atomic import atomic_open

#: Columns a manifest must have; ``corpus`` and ``gender`` are optional, any other column is ignored.
REQUIRED_COLUMNS = ("path", "speaker", "label")


@dataclass(frozen=True)
class Utterance:
    """One labelled recording of one speaker.

    Attributes
    ----------
    path : str
        Absolute path of the audio file.
    corpus : str
        Name of the corpus it belongs to, e.g. ``"emodb"``.
    speaker : str
        Speaker id namespaced by corpus, ``"<corpus>:<id>"`` (e.g. ``"emodb:03"``), so that two
        corpora never share a speaker in the speaker-independent folds (SPEC §6).
    label : int
        Index into ``numser.CLASSES`` = (neutral, happy, sad, angry).
    gender : str or None
        ``"M"``, ``"F"`` or None when the corpus does not say.
    """

    path: str
    corpus: str
    speaker: str
    label: int
    gender: str | None = None

    @property
    def emotion(self):
        """The class name of ``label``, e.g. ``"sad"``."""
        return CLASSES[self.label]


def namespaced(corpus, speaker):
    """``"<corpus>:<speaker>"``; an id that already carries the prefix is returned unchanged."""
    speaker = str(speaker).strip()
    prefix = f"{corpus}:"
    return speaker if speaker.startswith(prefix) else prefix + speaker


def label_index(name):
    """Index of a class name in ``numser.CLASSES`` (case and blanks around ignored), else None."""
    name = str(name).strip().lower()
    return CLASSES.index(name) if name in CLASSES else None


def read_manifest(csv_path, *, corpus=None, drop_unknown=False):
    """Read a corpus listed in a manifest CSV.

    Parameters
    ----------
    csv_path : str or path-like
        CSV file with a header row. Required columns: ``path`` (relative to the CSV's folder, or
        absolute), ``speaker`` and ``label`` (a class name: neutral, happy, sad or angry).
        Optional: ``corpus`` (default: the ``corpus`` argument, else the CSV's folder name) and
        ``gender`` (empty means unknown). Other columns are ignored.
    corpus : str, optional
        Corpus name for every row; overrides the ``corpus`` column.
    drop_unknown : bool, default False
        Skip rows whose label is not one of the four classes instead of raising.

    Returns
    -------
    list of Utterance
        In file order, with absolute paths and speakers namespaced ``"<corpus>:<speaker>"``.

    Raises
    ------
    ParameterError
        The CSV does not exist or has no header; a required column is missing; a row has an empty
        path or speaker; a label is not a class name (unless ``drop_unknown``); a listed audio file
        does not exist. Every message names the CSV and, for row errors, the row number (the
        header is row 1, as a spreadsheet shows it) and the value.
    """
    csv_path = os.path.abspath(os.fspath(csv_path))
    if not os.path.isfile(csv_path):
        raise ParameterError(f"{csv_path}: manifest not found; pass the path of an existing CSV "
                             f"with columns {', '.join(REQUIRED_COLUMNS)}")
    folder = os.path.dirname(csv_path)
    default_corpus = corpus or os.path.basename(folder) or "manifest"
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ParameterError(f"{csv_path}: row 1 (header) lacks column(s) {', '.join(missing)}; "
                                 f"found {columns or 'no header'}; a manifest needs "
                                 f"{', '.join(REQUIRED_COLUMNS)}")
        reader.fieldnames = columns
        utterances = []
        for row_number, row in enumerate(reader, start=2):
            utterance = _parse_row(row, row_number, csv_path, folder, corpus, default_corpus,
                                   drop_unknown)
            if utterance is not None:
                utterances.append(utterance)
    return utterances


def _parse_row(row, row_number, csv_path, folder, corpus, default_corpus, drop_unknown):
    """One manifest row as an Utterance, None for a dropped label; raises naming the row."""
    where = f"{csv_path}: row {row_number}"
    values = {key: (value or "").strip() for key, value in row.items() if key is not None}
    for column in ("path", "speaker"):
        if not values.get(column):
            raise ParameterError(f"{where}: empty '{column}'; every row needs a path, a speaker "
                                 f"and a label")
    label = label_index(values.get("label", ""))
    if label is None:
        if drop_unknown:
            return None
        raise ParameterError(f"{where}: label {values.get('label', '')!r} is not one of "
                             f"{', '.join(CLASSES)}; fix the row or pass drop_unknown=True "
                             f"to skip such rows")
    path = os.path.normpath(os.path.join(folder, values["path"]))
    if not os.path.isfile(path):
        raise ParameterError(f"{where}: audio file {values['path']!r} not found (looked at {path}); "
                             f"paths are relative to the manifest's folder")
    name = corpus or values.get("corpus") or default_corpus
    return Utterance(path=path, corpus=name, speaker=namespaced(name, values["speaker"]),
                     label=label, gender=values.get("gender") or None)


def write_manifest(utterances, csv_path, *, extra=None):
    """Write utterances as a manifest CSV that :func:`read_manifest` reads back unchanged.

    Parameters
    ----------
    utterances : sequence of Utterance
        Their paths are written relative to the CSV's folder, their speakers without the corpus
        prefix (the ``corpus`` column restores it).
    csv_path : str or path-like
        Where to write; the file is written to a temporary name and renamed, so a reader never
        sees half a manifest.
    extra : sequence of dict, optional
        Extra columns per utterance (same keys in every dict), e.g. a duration.
    """
    csv_path = os.path.abspath(os.fspath(csv_path))
    folder = os.path.dirname(csv_path)
    extra = extra if extra is not None else [{} for _ in utterances]
    extra_columns = list(extra[0]) if len(extra) else []
    with atomic_open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "corpus", "speaker", "gender", "label", *extra_columns])
        for u, more in zip(utterances, extra):
            speaker = u.speaker[len(u.corpus) + 1:] if u.speaker.startswith(u.corpus + ":") \
                else u.speaker
            writer.writerow([os.path.relpath(u.path, folder).replace(os.sep, "/"), u.corpus,
                             speaker, u.gender or "", CLASSES[u.label],
                             *(more[c] for c in extra_columns)])
