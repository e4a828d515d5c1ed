"""Speaker-independent k-fold cross-validation over merged corpora (SPEC §6, paper Section 5)."""
from dataclasses import dataclass

import numpy as np

from numser.errors import ParameterError


@dataclass(frozen=True)
class Fold:
    """One fold: three disjoint sets of speaker ids (namespaced like ``"emodb:03"``).

    Attributes
    ----------
    index : int
        f in 0..n_folds-1; the fold tests on speaker group f of every corpus.
    test, val, train : frozenset of str
        Speakers of group f, of group (f+1) mod n_folds, and of all other groups, united over
        the corpora.
    """

    index: int
    test: frozenset
    val: frozenset
    train: frozenset

    def masks(self, speakers):
        """Boolean masks selecting the utterances of the training, validation and test speakers.

        Parameters
        ----------
        speakers : array_like of str, shape (N,)
            The speaker id of every utterance.

        Returns
        -------
        train_mask, val_mask, test_mask : ndarray of bool, shape (N,)
            Pairwise disjoint. An utterance of a speaker the fold does not know is in none.
        """
        speakers = np.asarray(speakers, dtype=object)
        return tuple(np.fromiter((s in group for s in speakers), dtype=bool, count=speakers.size)
                     for group in (self.train, self.val, self.test))

    def __repr__(self):
        return (f"Fold({self.index}: train {len(self.train)}, val {len(self.val)}, "
                f"test {len(self.test)} speakers)")


def _corpus_speakers(corpora, speakers):
    """``{corpus: sorted unique speakers}`` from per-utterance (or per-speaker) sequences."""
    corpora = [str(c) for c in corpora]
    speakers = [str(s) for s in speakers]
    if len(corpora) != len(speakers):
        raise ParameterError(f"corpora has {len(corpora)} entries but speakers has "
                             f"{len(speakers)}: give one corpus name per speaker entry")
    if not speakers:
        raise ParameterError("no speakers given: cross-validation needs at least one corpus")
    home = {}
    for corpus, speaker in zip(corpora, speakers):
        if home.setdefault(speaker, corpus) != corpus:
            raise ParameterError(f"speaker {speaker!r} appears in corpora {home[speaker]!r} and "
                                 f"{corpus!r}: namespace speaker ids by corpus (e.g. "
                                 f"'{corpus}:{speaker}')")
    by_corpus = {}
    for speaker, corpus in home.items():
        by_corpus.setdefault(corpus, []).append(speaker)
    return {c: sorted(by_corpus[c]) for c in sorted(by_corpus)}


def speaker_groups(corpora, speakers, *, n_folds=5, seed=0):
    """Shuffle each corpus's speakers and cut them into n_folds groups.

    Parameters
    ----------
    corpora, speakers : sequence of str, equal length
        As :func:`speaker_folds`.
    n_folds : int >= 3
    seed : int

    Returns
    -------
    groups : dict
        ``{corpus: [list of speakers of group 0, ..., group n_folds-1]}``, corpora sorted by name.

    Notes
    -----
    One ``np.random.default_rng(seed)`` serves the whole run; corpora take their permutation from
    it one after another in sorted order, so adding a corpus whose name sorts last leaves the
    earlier corpora's groups unchanged. ``np.array_split`` gives near-equal groups (sizes differ
    by at most one, larger groups first); with fewer speakers than folds it puts speaker j of the
    shuffled order alone in group j and leaves the last groups empty: the round-robin of SPEC §6.
    """
    _check_n_folds(n_folds)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed={seed!r}: must be an integer")
    rng = np.random.default_rng(seed)
    groups = {}
    for corpus, spk in _corpus_speakers(corpora, speakers).items():
        shuffled = [spk[i] for i in rng.permutation(len(spk))]
        groups[corpus] = [list(g) for g in np.array_split(np.array(shuffled, dtype=object),
                                                          n_folds)]
    return groups


def _check_n_folds(n_folds):
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 3:
        raise ParameterError(f"n_folds={n_folds!r}: must be an integer >= 3 (a fold needs a test, "
                             "a validation and at least one training group); the paper uses 5")


def speaker_folds(corpora, speakers, *, n_folds=5, seed=0):
    """Speaker-independent folds: test on group f, validate on group f+1, train on the rest.

    Equation
    --------
    For every corpus c, its shuffled speakers form groups ``G_c[0..F-1]`` (:func:`speaker_groups`).
    Fold f has ``test = ∪_c G_c[f]``, ``val = ∪_c G_c[(f+1) mod F]``,
    ``train = ∪_c ∪_{g ∉ {f, f+1 mod F}} G_c[g]``.

    Parameters
    ----------
    corpora : sequence of str, length M
        The corpus of each entry.
    speakers : sequence of str, length M
        The speaker id of each entry, already namespaced by corpus (``"emodb:03"``). Entries may
        be utterances (repeats are fine) or one per speaker: only the unique (corpus, speaker)
        pairs matter.
    n_folds : int >= 3
        F (5 in the paper).
    seed : int
        The run's seed; the same seed gives the same folds.

    Returns
    -------
    folds : list of Fold, length F
        In each, test/val/train are pairwise disjoint; over the F folds every speaker is tested
        exactly once (and validated exactly once).

    Raises
    ------
    ParameterError
        Unequal lengths; no speakers; a speaker id in two corpora; n_folds < 3; or too few
        speakers for a fold to have non-empty test, validation and training sets (the message
        gives the counts and the largest n_folds that works).

    Notes
    -----
    SPEC §6 / paper Section 5: per corpus 60/20/20 % of the speakers for F = 5. No speaker is in two
    sets of a fold, so no voice heard in training is scored in testing (see docs/protocol.md).
    """
    groups = speaker_groups(corpora, speakers, n_folds=n_folds, seed=seed)
    # Group g is non-empty in the merged data iff some corpus has more than g speakers; every
    # fold's three sets are unions of groups, so all are non-empty iff the largest corpus has at
    # least n_folds speakers.
    largest = max(len(sum(g, [])) for g in groups.values())
    if largest < n_folds:
        counts = ", ".join(f"{c}: {len(sum(g, []))}" for c, g in groups.items())
        fix = (f"use n_folds between 3 and {largest}" if largest >= 3
               else "add a corpus with at least 3 speakers")
        raise ParameterError(f"n_folds={n_folds}: the merged data cannot fill every fold (speakers "
                             f"per corpus: {counts}; the largest corpus has {largest}, so group "
                             f"{largest} and beyond are empty and some fold would have an empty "
                             f"test, validation or training set); {fix}")
    folds = []
    for f in range(n_folds):
        v = (f + 1) % n_folds
        test, val, train = set(), set(), set()
        for g in groups.values():
            test.update(g[f])
            val.update(g[v])
            for i in range(n_folds):
                if i not in (f, v):
                    train.update(g[i])
        folds.append(Fold(f, frozenset(test), frozenset(val), frozenset(train)))
    return folds


def validation_split(corpora, speakers, *, fraction=0.2, seed=0):
    """Split speakers into training and validation, the same fraction of every corpus.

    Used where all given speakers train one model (``numser.train``) or where the test set is a
    whole corpus (leave-one-corpus-out): the validation speakers serve early stopping and the
    ELM's choice of hidden size and C, and never train.

    Equation
    --------
    For every corpus c (sorted by name) with sorted unique speakers S_c, shuffled by one
    ``np.random.default_rng(seed)`` as in :func:`speaker_groups`:
    ``val_c = first n_c of the shuffled S_c``, ``n_c = max(1, round(fraction · |S_c|))`` when
    ``|S_c| ≥ 2`` (0 for a one-speaker corpus); ``train_c = S_c \\ val_c``.

    Parameters
    ----------
    corpora, speakers : sequence of str, equal length
        As :func:`speaker_folds` (speaker ids namespaced by corpus).
    fraction : float in (0, 1)
        0.2: one speaker in five, the share of the validation group in the paper's 5 folds.
    seed : int

    Returns
    -------
    train, val : frozenset of str
        Disjoint; their union is every speaker.

    Raises
    ------
    ParameterError
        For a fraction outside (0, 1), or when no corpus has two speakers (no validation set
        without a corpus losing all its training speakers).
    """
    if not 0 < fraction < 1:
        raise ParameterError(f"fraction={fraction!r}: must be between 0 and 1 (e.g. 0.2)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed={seed!r}: must be an integer")
    rng = np.random.default_rng(seed)
    train, val = set(), set()
    for corpus, spk in _corpus_speakers(corpora, speakers).items():
        shuffled = [spk[i] for i in rng.permutation(len(spk))]
        n_val = max(1, int(round(fraction * len(spk)))) if len(spk) >= 2 else 0
        val.update(shuffled[:n_val])
        train.update(shuffled[n_val:])
    if not val:
        raise ParameterError("no corpus has two speakers: a speaker-independent validation set "
                             "needs at least one corpus with two or more speakers")
    return frozenset(train), frozenset(val)
