"""The utterance record every corpus loader returns, and the manifest CSV reader/writer (docs/spec.md §1)."""
import collections
import csv
import io
import os
import warnings
from dataclasses import dataclass

from numser import CLASSES, FileFormatError, ParameterError
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
        corpora never share a speaker in the speaker-independent folds (docs/spec.md §6).
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
        CSV file with a header row, UTF-8 with or without a byte-order mark (as spreadsheets save
        it). Required columns: ``path`` (relative to the CSV's folder, or absolute), ``speaker``
        and ``label`` (a class name: neutral, happy, sad or angry; case and blanks around it are
        ignored). Optional: ``corpus`` (default: the ``corpus`` argument, else the CSV's folder
        name) and ``gender`` (empty means unknown). Other columns are ignored; column names are
        read without case or surrounding blanks.
    corpus : str, optional
        Corpus name for every row; overrides the ``corpus`` column.
    drop_unknown : bool, default False
        Skip rows whose label is not one of the four classes instead of raising
        (``--drop-unknown-labels`` on the command line); a warning gives how many rows were
        skipped and which labels they had.

    Returns
    -------
    list of Utterance
        In file order, with absolute paths and speakers namespaced ``"<corpus>:<speaker>"``.

    Raises
    ------
    ParameterError
        The CSV does not exist.
    FileFormatError
        The file cannot be read or is not UTF-8 text; it has no header or a required column is
        missing or doubled; a row has an empty path or speaker; a label is not a class name
        (unless ``drop_unknown``); a listed audio file does not exist; two rows list the same
        audio file (both rows are named). Every message starts with the CSV's path, then the row
        (the header is row 1, as a spreadsheet shows it) and the value.

    Warns
    -----
    UserWarning
        With ``drop_unknown``, once per file that had rows dropped: their number and labels.
    """
    csv_path = os.path.abspath(os.fspath(csv_path))
    if not os.path.isfile(csv_path):
        raise ParameterError(f"{csv_path}: manifest not found; pass the path of an existing CSV "
                             f"with columns {', '.join(REQUIRED_COLUMNS)}")
    folder = os.path.dirname(csv_path)
    default_corpus = corpus or os.path.basename(folder) or "manifest"
    reader = csv.DictReader(io.StringIO(_read_text(csv_path), newline=""))
    try:
        columns = [str(c).strip().lower() for c in (reader.fieldnames or [])]
    except csv.Error as e:
        raise FileFormatError(csv_path, f"not a readable CSV ({e})", where="row 1 (header)") \
            from None
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise FileFormatError(csv_path, f"lacks column(s) {', '.join(missing)}; found "
                                        f"{columns or 'no header'}; a manifest needs "
                                        f"{', '.join(REQUIRED_COLUMNS)}", where="row 1 (header)")
    doubled = sorted({c for c in columns if c and columns.count(c) > 1})
    if doubled:
        raise FileFormatError(csv_path, f"column(s) {', '.join(doubled)} appear more than once; "
                                        f"keep one of each", where="row 1 (header)")
    reader.fieldnames = columns
    utterances, first_row, dropped = [], {}, collections.Counter()
    try:
        for row in reader:
            row_number = reader.line_num
            utterance = _parse_row(row, row_number, csv_path, folder, corpus, default_corpus,
                                   drop_unknown)
            if utterance is None:
                dropped[(row.get("label") or "").strip()] += 1
                continue
            if utterance.path in first_row:
                raise FileFormatError(csv_path, f"audio file {row['path'].strip()!r} is listed "
                                                f"again (first in row {first_row[utterance.path]}); "
                                                f"list each recording once",
                                      where=f"row {row_number}")
            first_row[utterance.path] = row_number
            utterances.append(utterance)
    except csv.Error as e:
        raise FileFormatError(csv_path, f"not a readable CSV ({e})",
                              where=f"row {reader.line_num}") from None
    if dropped:
        labels = ", ".join(f"{label!r} ({n})" for label, n in sorted(dropped.items()))
        warnings.warn(f"{csv_path}: dropped {sum(dropped.values())} row(s) whose label is not one "
                      f"of {', '.join(CLASSES)}: {labels}", UserWarning, stacklevel=2)
    return utterances


def _read_text(csv_path):
    """The manifest's text, decoded as UTF-8 with or without a byte-order mark."""
    try:
        with open(csv_path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise FileFormatError(csv_path, f"cannot be read ({e.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        row = raw.count(b"\n", 0, e.start) + 1
        raise FileFormatError(csv_path, f"not UTF-8 text (byte {raw[e.start]:#04x} at offset "
                                        f"{e.start}); save the manifest as a UTF-8 CSV",
                              where=f"row {row}") from None


def _parse_row(row, row_number, csv_path, folder, corpus, default_corpus, drop_unknown):
    """One manifest row as an Utterance, None for a dropped label; raises naming the row."""
    where = f"row {row_number}"
    values = {key: (value or "").strip() for key, value in row.items()
              if key is not None and isinstance(value, (str, type(None)))}
    for column in ("path", "speaker"):
        if not values.get(column):
            raise FileFormatError(csv_path, f"empty '{column}'; every row needs a path, a speaker "
                                            f"and a label", where=where)
    label = label_index(values.get("label", ""))
    if label is None:
        if drop_unknown:
            return None
        raise FileFormatError(csv_path, f"label {values.get('label', '')!r} is not one of "
                                        f"{', '.join(CLASSES)}; fix the row, or skip such rows "
                                        f"with --drop-unknown-labels (drop_unknown=True in "
                                        f"Python)", where=where)
    path = os.path.normpath(os.path.join(folder, values["path"]))
    if "\0" in path or not os.path.isfile(path):
        raise FileFormatError(csv_path, f"audio file {values['path']!r} not found (looked at "
                                        f"{path}); paths are relative to the manifest's folder",
                              where=where)
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
