"""EmoDB (Berlin Database of Emotional Speech) read from its own file names (docs/spec.md §1)."""
import os
import re
import warnings

from numser import CLASSES
from numser.corpora.manifest import Utterance, namespaced

#: Emotion letter (7th character of the name) → class; the other EmoDB letters are dropped:
#: L boredom (Langeweile), E disgust (Ekel), A fear (Angst).
LABELS = {"N": "neutral", "F": "happy", "T": "sad", "W": "angry"}
DROPPED = {"L": "boredom", "E": "disgust", "A": "fear"}

#: Speaker gender as given by the corpus documentation.
GENDER = {"03": "M", "08": "F", "09": "F", "10": "M", "11": "M", "12": "M", "13": "F", "14": "F",
          "15": "M", "16": "F"}

AUDIO_EXTENSIONS = (".wav", ".flac")

# 03a01Fa: speaker 03, text a01, emotion F, version a (a second take is b, c, ...).
_NAME = re.compile(r"^(?P<speaker>\d\d)(?P<text>[a-z]\d\d)(?P<emotion>[WLEAFTN])(?P<version>[a-z])$")


def parse_emodb_name(name):
    """Speaker id and emotion letter of an EmoDB file name.

    Parameters
    ----------
    name : str
        File name with or without folder and extension, e.g. ``"wav/03a01Fa.flac"``.

    Returns
    -------
    (speaker, letter) : tuple of str, or None
        ``("03", "F")``; None when the name does not follow the EmoDB pattern
        ``SSTnnEv`` (speaker, text, emotion letter W/L/E/A/F/T/N, version).
    """
    stem = os.path.splitext(os.path.basename(name))[0]
    match = _NAME.match(stem)
    return (match["speaker"], match["emotion"]) if match else None


def load_emodb(root):
    """The four-class EmoDB utterances found under ``root`` (and ``root/wav``).

    Parameters
    ----------
    root : str or path-like
        The corpus folder: the audio files (``.wav`` or ``.flac``) are in it or in its ``wav``
        subfolder, under their original names, e.g. ``wav/03a01Fa.flac``.

    Returns
    -------
    list of Utterance
        Sorted by file name. Speaker = the first two characters (``"emodb:03"``), label from the
        7th character: W/F/T/N → angry/happy/sad/neutral; L, E, A are dropped (docs/spec.md §1).

    Warns
    -----
    UserWarning
        For each audio file whose name does not follow the EmoDB pattern (it is skipped), and for
        a name found twice (e.g. as .wav and .flac; the first in sorted path order is kept).

    Notes
    -----
    ``root`` is not checked here; :func:`numser.corpora.load_corpus` reports a missing folder or
    an empty corpus.
    """
    root = os.path.abspath(os.fspath(root))
    files = []
    for folder in (root, os.path.join(root, "wav")):
        if os.path.isdir(folder):
            files += [os.path.join(folder, f) for f in os.listdir(folder)
                      if f.lower().endswith(AUDIO_EXTENSIONS)]
    utterances, seen = [], {}
    for path in sorted(files, key=lambda p: (os.path.basename(p), p)):
        parsed = parse_emodb_name(path)
        if parsed is None:
            warnings.warn(f"{path}: not an EmoDB name (expected e.g. 03a01Fa.flac: speaker, text, "
                          f"emotion letter W/L/E/A/F/T/N, version); skipped", stacklevel=2)
            continue
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in seen:
            warnings.warn(f"{path}: same recording as {seen[stem]}; skipped, the first is kept",
                          stacklevel=2)
            continue
        seen[stem] = path
        speaker, letter = parsed
        if letter not in LABELS:
            continue
        utterances.append(Utterance(path=path, corpus="emodb",
                                    speaker=namespaced("emodb", speaker),
                                    label=CLASSES.index(LABELS[letter]),
                                    gender=GENDER.get(speaker)))
    return utterances
