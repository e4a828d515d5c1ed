"""RAVDESS (speech, audio) read from its own file names (docs/spec.md §1)."""
import os
import re
import warnings

from numser import CLASSES
from numser.corpora.manifest import Utterance, namespaced

#: Emotion field (3rd of the name) → class. Dropped: 02 calm (docs/spec.md §1), 06 fearful, 07 disgust,
#: 08 surprised.
LABELS = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry"}

AUDIO_EXTENSIONS = (".wav", ".flac")

# modality-channel-emotion-intensity-statement-repetition-actor, e.g. 03-01-05-01-01-01-01.
_NAME = re.compile(r"^(?P<modality>0[123])-(?P<channel>0[12])-(?P<emotion>0[1-8])"
                   r"-(?P<intensity>0[12])-(?P<statement>0[12])-(?P<repetition>0[12])-(?P<actor>\d\d)$")


def parse_ravdess_name(name):
    """The seven fields of a RAVDESS file name.

    Parameters
    ----------
    name : str
        File name with or without folder and extension, e.g. ``"Actor_01/03-01-05-01-01-01-01.flac"``.

    Returns
    -------
    dict of str or None
        Keys modality, channel (01 speech, 02 song), emotion (01–08), intensity, statement,
        repetition, actor (two digits each); None when the name does not follow the pattern.
    """
    stem = os.path.splitext(os.path.basename(name))[0]
    match = _NAME.match(stem)
    return match.groupdict() if match else None


def load_ravdess(root):
    """The four-class RAVDESS speech utterances found under ``root/Actor_XX`` (or in ``root``).

    Parameters
    ----------
    root : str or path-like
        The corpus folder holding ``Actor_01`` … ``Actor_24`` with the audio (``.wav`` or
        ``.flac``) under the original names, e.g. ``Actor_01/03-01-05-01-01-01-01.flac``.

    Returns
    -------
    list of Utterance
        Sorted by path. Speaker = the actor field (``"ravdess:01"``); gender M for odd actors,
        F for even ones; label from the emotion field: 01/03/04/05 → neutral/happy/sad/angry,
        02 calm and 06–08 are dropped (docs/spec.md §1). Song files (channel 02) are dropped: the
        paper's corpora are speech.

    Warns
    -----
    UserWarning
        For each audio file whose name does not follow the RAVDESS pattern (it is skipped); for a
        file whose actor field disagrees with its ``Actor_XX`` folder (the name's field is used).
    """
    root = os.path.abspath(os.fspath(root))
    if not os.path.isdir(root):
        return []
    folders = [root] + sorted(os.path.join(root, d) for d in os.listdir(root)
                              if d.startswith("Actor_") and os.path.isdir(os.path.join(root, d)))
    utterances = []
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            if not name.lower().endswith(AUDIO_EXTENSIONS):
                continue
            path = os.path.join(folder, name)
            fields = parse_ravdess_name(name)
            if fields is None:
                warnings.warn(f"{path}: not a RAVDESS name (expected seven two-digit fields, e.g. "
                              f"03-01-05-01-01-01-01.flac); skipped", stacklevel=2)
                continue
            actor = fields["actor"]
            folder_name = os.path.basename(folder)
            if folder != root and folder_name != f"Actor_{actor}":
                warnings.warn(f"{path}: actor field {actor} disagrees with folder {folder_name}; "
                              f"the name's actor is used", stacklevel=2)
            if fields["channel"] != "01" or fields["emotion"] not in LABELS:
                continue
            utterances.append(Utterance(path=path, corpus="ravdess",
                                        speaker=namespaced("ravdess", actor),
                                        label=CLASSES.index(LABELS[fields["emotion"]]),
                                        gender="M" if int(actor) % 2 else "F"))
    return utterances
