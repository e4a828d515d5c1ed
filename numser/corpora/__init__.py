"""Corpus loaders: manifest CSV, EmoDB, RAVDESS, the built-in synthetic corpus, FEELTRACE mapping.

Every loader returns a list of :class:`Utterance` (absolute path, corpus, speaker namespaced
``"<corpus>:<id>"``, label index into ``numser.CLASSES``, gender). :func:`load_corpus` turns one
``--corpus`` value of the command line into such a list, :func:`load_corpora` several (docs/spec.md §1).
"""
import os

from numser import ParameterError
from numser.corpora.duplicates import identical_audio
from numser.corpora.emodb import load_emodb
from numser.corpora.feeltrace import LANDMARKS, feeltrace_distances, feeltrace_label
from numser.corpora.manifest import Utterance, read_manifest, write_manifest
from numser.corpora.ravdess import load_ravdess
from numser.corpora.synthetic import generate_synthetic

#: The corpus specs :func:`load_corpus` understands.
SPEC_FORMS = ("synthetic", "synthetic=N_SPEAKERS", "emodb=DIR", "ravdess=DIR", "manifest=CSV")

#: Where the synthetic corpus is generated when no cache_dir is given (relative to the cwd).
DEFAULT_CACHE = ".numser_cache"


def load_corpus(spec, *, cache_dir=None, seed=0, per_emotion=6, drop_unknown=False):
    """The utterances of one corpus named by a command-line spec.

    Parameters
    ----------
    spec : str
        ``"synthetic"`` (40 speakers) or ``"synthetic=N"`` (N speakers): the built-in corpus,
        generated on first use; ``"emodb=DIR"``, ``"ravdess=DIR"``: the corpus read from its own
        file names; ``"manifest=CSV"``: any corpus listed in a manifest (a folder stands for its
        ``manifest.csv``).
    cache_dir : str or path-like, optional
        Parent folder of the generated synthetic corpus; it goes to
        ``<cache_dir>/synthetic/seed<seed>-n<N>-p<per_emotion>``. Default: ``$NUMSER_CACHE`` or
        ``.numser_cache`` in the working directory.
    seed : int, default 0
        Seed of the synthetic corpus (ignored by the real corpora).
    per_emotion : int, default 6
        Synthetic utterances per speaker and emotion (ignored by the real corpora).
    drop_unknown : bool, default False
        For a manifest: skip rows whose label is not one of the four classes (with a warning)
        instead of refusing the file (:func:`read_manifest`).

    Returns
    -------
    list of Utterance
        Not empty.

    Raises
    ------
    ParameterError
        An unknown spec, a missing folder or manifest, or a corpus without any utterance of the
        four classes; one line naming the spec and what to do.
    """
    name, _, value = str(spec).partition("=")
    name, value = name.strip().lower(), value.strip()
    if name == "synthetic":
        n_speakers = 40
        if value:
            try:
                n_speakers = int(value)
            except ValueError:
                n_speakers = 0
            if n_speakers < 1:
                raise ParameterError(f"corpus spec {spec!r}: N_SPEAKERS must be a positive "
                                     f"integer, e.g. synthetic=40")
        root = cache_dir or os.environ.get("NUMSER_CACHE") or DEFAULT_CACHE
        out = os.path.join(root, "synthetic", f"seed{seed}-n{n_speakers}-p{per_emotion}")
        return generate_synthetic(out, seed=seed, n_speakers=n_speakers, per_emotion=per_emotion)
    loaders = {"emodb": load_emodb, "ravdess": load_ravdess, "manifest": read_manifest}
    if name not in loaders or not value:
        raise ParameterError(f"corpus spec {spec!r} not understood; use one of "
                             f"{', '.join(SPEC_FORMS)}")
    path = os.path.abspath(os.path.expanduser(value))
    if name == "manifest" and os.path.isdir(path):
        path = os.path.join(path, "manifest.csv")
    exists = os.path.isfile(path) if name == "manifest" else os.path.isdir(path)
    if not exists:
        what = "manifest file" if name == "manifest" else "folder"
        raise ParameterError(f"corpus spec {spec!r}: {what} {path} does not exist; check the path")
    utterances = read_manifest(path, drop_unknown=drop_unknown) if name == "manifest" \
        else loaders[name](path)
    if not utterances:
        raise ParameterError(f"corpus spec {spec!r}: no utterance of the four classes found "
                             f"under {path}; check that it holds the corpus's audio files")
    return utterances


def load_corpora(specs, *, cache_dir=None, seed=0, per_emotion=6, drop_unknown=False):
    """The utterances of several corpora as one list, in the order of ``specs``.

    Parameters
    ----------
    specs : sequence of str
        Corpus specs as for :func:`load_corpus`; at least one.
    cache_dir, seed, per_emotion, drop_unknown
        As for :func:`load_corpus`.

    Returns
    -------
    list of Utterance

    Raises
    ------
    ParameterError
        No spec, the same spec twice, two specs that load the same corpus name (their speakers
        would be mixed), two specs that list the same audio file, or any error of
        :func:`load_corpus`.
    """
    if isinstance(specs, str):
        specs = [specs]
    specs = list(specs)
    if not specs:
        raise ParameterError("no corpus spec given; pass at least one, e.g. 'synthetic'")
    seen = set()
    for spec in specs:
        key = str(spec).strip()
        if key in seen:
            raise ParameterError(f"corpus spec {spec!r} given twice; give each corpus once")
        seen.add(key)
    utterances, owner, listed_by = [], {}, {}
    for spec in specs:
        loaded = load_corpus(spec, cache_dir=cache_dir, seed=seed, per_emotion=per_emotion,
                             drop_unknown=drop_unknown)
        for corpus in sorted({u.corpus for u in loaded}):
            if corpus in owner:
                raise ParameterError(f"corpus specs {owner[corpus]!r} and {spec!r} both load "
                                     f"corpus '{corpus}'; give each corpus once (its speakers "
                                     f"would otherwise be counted twice)")
            owner[corpus] = spec
        for u in loaded:
            if listed_by.setdefault(u.path, spec) != spec:
                raise ParameterError(f"corpus specs {listed_by[u.path]!r} and {spec!r} both list "
                                     f"{u.path}; a recording may belong to one corpus only")
        utterances += loaded
    return utterances


__all__ = ["Utterance", "read_manifest", "write_manifest", "load_emodb", "load_ravdess",
           "generate_synthetic", "feeltrace_label", "feeltrace_distances", "LANDMARKS",
           "load_corpus", "load_corpora", "identical_audio", "SPEC_FORMS"]
