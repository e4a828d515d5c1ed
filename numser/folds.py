"""Speaker-independent k-fold cross-validation over merged corpora (docs/spec.md §6, paper Section 5)."""
import csv
import io
from dataclasses import dataclass

import numpy as np

from numser.atomic import write_text
from numser.errors import FileFormatError, ParameterError


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

    def with_train_fraction(self, fraction, seed=0):
        """This fold with only ``fraction`` of its training speakers, the same val and test.

        In every corpus (the part of a speaker id before ':') the training speakers are shuffled
        with ``(seed, index)`` and the first ``ceil(fraction · n)`` kept, at least one. The same
        shuffle serves every fraction, so a smaller fraction's speakers are a subset of a larger
        one's: a learning curve adds speakers, it does not swap them.
        """
        if not 0.0 < fraction <= 1.0:
            raise ParameterError(f"train fraction {fraction!r} must be in (0, 1]")
        rng = np.random.default_rng([seed, self.index])
        kept = set()
        for corpus in sorted({s.split(":")[0] for s in self.train}):
            own = sorted(s for s in self.train if s.split(":")[0] == corpus)
            order = rng.permutation(len(own))
            kept.update(own[j] for j in order[:max(1, int(np.ceil(fraction * len(own))))])
        return Fold(self.index, self.test, self.val, frozenset(kept))

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
    shuffled order alone in group j and leaves the last groups empty: the round-robin of docs/spec.md §6.
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
    docs/spec.md §6 / paper Section 5: per corpus 60/20/20 % of the speakers for F = 5. No speaker is in two
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


# --- the split as a file: OUT/folds.csv and --folds-from ------------------------------------

#: Columns of a split file, in this order.
FOLDS_CSV_COLUMNS = ("seed", "fold", "role", "corpus", "speaker")
ROLES = ("train", "val", "test")
#: A split file larger than this is refused rather than read (a real one has a few MB at most).
MAX_FOLDS_CSV_BYTES = 64 * 1024 * 1024


def _split_speaker(speaker, corpus):
    """The speaker column of a namespaced id: ``"emodb:03"`` in corpus emodb → ``"03"``."""
    prefix = corpus + ":"
    return speaker[len(prefix):] if speaker.startswith(prefix) else speaker


def folds_csv_text(folds_by_seed, corpus_of):
    """The split file of one or more seeds' folds, as text.

    Parameters
    ----------
    folds_by_seed : dict {int: list of Fold}
        The folds of every seed.
    corpus_of : dict {str: str}
        The corpus of every (namespaced) speaker id.

    Returns
    -------
    str
        CSV with the header ``seed,fold,role,corpus,speaker`` and one row per speaker per fold per
        seed, sorted by seed, fold, role (train, val, test), corpus and speaker. The speaker
        column holds the id without its ``"<corpus>:"`` namespace.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FOLDS_CSV_COLUMNS)
    for seed in sorted(folds_by_seed):
        for fold in sorted(folds_by_seed[seed], key=lambda f: f.index):
            for role in ROLES:
                members = sorted(getattr(fold, role), key=lambda s: (corpus_of[s], s))
                for s in members:
                    w.writerow((seed, fold.index, role, corpus_of[s],
                                _split_speaker(s, corpus_of[s])))
    return buf.getvalue()


def write_folds_csv(path, folds_by_seed, corpus_of):
    """Write :func:`folds_csv_text` to ``path`` atomically."""
    write_text(path, folds_csv_text(folds_by_seed, corpus_of))


def _read_rows(path):
    """The data rows of a split file as ``(row number, [5 cells])``; FileFormatError otherwise."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FOLDS_CSV_BYTES + 1)
    except OSError as e:
        raise FileFormatError(path, f"cannot be read ({e.strerror or e})") from None
    if len(data) > MAX_FOLDS_CSV_BYTES:
        raise FileFormatError(path, f"larger than {MAX_FOLDS_CSV_BYTES // 2**20} MB: not a split "
                                    "file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileFormatError(path, f"not UTF-8 text (byte {e.start})") from None
    if "\0" in text:
        raise FileFormatError(path, "contains NUL bytes: not a CSV text file")
    rows = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        for cells in reader:
            rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as e:
        raise FileFormatError(path, f"not valid CSV ({e})",
                              where=f"line {reader.line_num}") from None
    rows = [(n, cells) for n, cells in rows if any(cells)]           # blank lines
    if not rows or tuple(c.lower() for c in rows[0][1]) != FOLDS_CSV_COLUMNS:
        got = ",".join(rows[0][1])[:80] if rows else "an empty file"
        raise FileFormatError(path, f"the header must be {','.join(FOLDS_CSV_COLUMNS)}, got "
                                    f"{got!r}", where="line 1" if rows else None)
    if len(rows) == 1:
        raise FileFormatError(path, "no rows after the header: the file assigns no speaker")
    return rows[1:]


def _non_negative_int(text):
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def read_folds_csv(path, speakers=None):
    """Read a split file (:func:`folds_csv_text`'s format) back into folds per seed.

    Parameters
    ----------
    path : str
        The CSV: header ``seed,fold,role,corpus,speaker``; seed and fold non-negative integers,
        role one of train, val, test; speaker the id within its corpus (``"03"``, or already
        namespaced ``"emodb:03"``).
    speakers : collection of str, optional
        The data's namespaced speaker ids. When given, every fold of every seed must place each of
        them in exactly one role, and the file may name no other speaker.

    Returns
    -------
    dict {int: list of Fold}
        For every seed in the file, its folds 0..F-1 (F the same for every seed).

    Raises
    ------
    FileFormatError
        One line naming the path and the first offending row (as a line number): unreadable, not
        UTF-8 CSV, wrong header, a row without 5 cells, a bad seed, fold or role, an empty corpus
        or speaker, the same speaker twice in one fold (in two roles or twice in one), a speaker
        unknown to the data, a fold that misses a speaker of the data or has no test, validation
        or training speaker, fold numbers not 0..F-1 for every seed, or a speaker of a seed
        tested in no fold or in two (e.g. a file cut off after a whole fold). Any bytes either
        parse or raise this error.
    """
    known = None if speakers is None else set(speakers)
    assigned = {}                             # (seed, fold) → {speaker: (role, line)}
    for line, cells in _read_rows(path):
        where = f"line {line}"
        if len(cells) != len(FOLDS_CSV_COLUMNS):
            raise FileFormatError(path, f"{len(cells)} cells, expected {len(FOLDS_CSV_COLUMNS)} "
                                        f"({','.join(FOLDS_CSV_COLUMNS)})", where=where)
        seed, fold, role, corpus, speaker = cells
        seed_i, fold_i = _non_negative_int(seed), _non_negative_int(fold)
        if seed_i is None or fold_i is None:
            bad = ("seed", seed) if seed_i is None else ("fold", fold)
            raise FileFormatError(path, f"{bad[0]} {bad[1][:40]!r} is not a non-negative integer",
                                  where=where)
        if role.lower() not in ROLES:
            raise FileFormatError(path, f"role {role[:40]!r} is not one of {', '.join(ROLES)}",
                                  where=where)
        if not corpus or not speaker:
            raise FileFormatError(path, "empty corpus or speaker", where=where)
        sid = speaker if speaker.startswith(corpus + ":") else f"{corpus}:{speaker}"
        if known is not None and sid not in known:
            raise FileFormatError(path, f"speaker {sid[:80]!r} is not in the data (seed {seed_i}, "
                                        f"fold {fold_i})", where=where)
        fold_roles = assigned.setdefault((seed_i, fold_i), {})
        if sid in fold_roles:
            first_role, first_line = fold_roles[sid]
            twice = ("twice as " + first_role if first_role == role.lower()
                     else f"both {first_role} (line {first_line}) and {role.lower()}")
            raise FileFormatError(path, f"speaker {sid[:80]!r} is {twice} in seed {seed_i}, fold "
                                        f"{fold_i}", where=where)
        fold_roles[sid] = (role.lower(), line)
    return _folds_from_assignments(path, assigned, known)


def _folds_from_assignments(path, assigned, known):
    """Check the per-(seed, fold) assignments of :func:`read_folds_csv` and build the folds."""
    seeds = sorted({s for s, _ in assigned})
    n_folds = {s: sorted(f for t, f in assigned if t == s) for s in seeds}
    first = n_folds[seeds[0]]
    for s in seeds:
        if n_folds[s] != list(range(len(n_folds[s]))) or len(n_folds[s]) != len(first):
            raise FileFormatError(path, f"seed {s} has folds {_short(n_folds[s])}; every seed "
                                        f"needs folds 0..{len(first) - 1}")
    out = {}
    for s in seeds:
        out[s] = []
        for f in n_folds[s]:
            roles = assigned[(s, f)]
            groups = {r: frozenset(k for k, (role, _) in roles.items() if role == r) for r in ROLES}
            empty = [r for r in ROLES if not groups[r]]
            if empty:
                raise FileFormatError(path, f"seed {s}, fold {f} has no {empty[0]} speaker")
            if known is not None and len(roles) != len(known):
                missing = sorted(known - set(roles))
                raise FileFormatError(path, f"seed {s}, fold {f} does not place speaker "
                                            f"{missing[0]!r} (nor {len(missing) - 1} other(s)) of "
                                            "the data: every fold must give every speaker a role")
            out[s].append(Fold(f, groups["test"], groups["val"], groups["train"]))
        _check_tested_once(path, s, out[s])
    return out


def _check_tested_once(path, seed, folds):
    """Each speaker is tested in exactly one fold of a seed (docs/spec.md §6): a file cut off after a
    whole fold would otherwise read as a run with fewer folds."""
    tested = {}
    for fold in folds:
        for speaker in fold.test:
            tested[speaker] = tested.get(speaker, 0) + 1
    everyone = set().union(*(f.train | f.val | f.test for f in folds))
    wrong = sorted(s for s in everyone if tested.get(s, 0) != 1)
    if wrong:
        raise FileFormatError(path, f"seed {seed}: speaker {wrong[0]!r} is tested in "
                                    f"{tested.get(wrong[0], 0)} of the {len(folds)} folds "
                                    f"({len(wrong)} speaker(s) so); each must be tested in "
                                    f"exactly one (a file cut off after a fold?)")


def _short(values, n=8):
    return ", ".join(map(str, values[:n])) + (", …" if len(values) > n else "")


def loco_folds(corpora, speakers, *, fraction=0.2, seed=0):
    """Leave-one-corpus-out: for every corpus, a split that tests on all of it.

    Equation
    --------
    For held-out corpus h: ``test_h = S_h`` (every speaker of h);
    ``(train_h, val_h) = validation_split(speakers of the other corpora, fraction, seed)``,
    so validation is ``fraction`` of each training corpus's speakers.

    Parameters
    ----------
    corpora, speakers : sequence of str, equal length
        As :func:`speaker_folds`.
    fraction : float
        Share of each training corpus's speakers held out for validation (0.2).
    seed : int

    Returns
    -------
    dict
        ``{held-out corpus: Fold}`` in sorted corpus order; ``Fold.index`` is the corpus's position.
        No speaker of the held-out corpus is in training or validation.

    Raises
    ------
    ParameterError
        Fewer than two corpora, or training corpora without a corpus of two speakers.
    """
    by_corpus = _corpus_speakers(corpora, speakers)
    if len(by_corpus) < 2:
        raise ParameterError(f"leave-one-corpus-out needs at least two corpora (one to test, "
                             f"the others to train); got {len(by_corpus)}: "
                             f"{', '.join(by_corpus) or 'none'}")
    folds = {}
    for index, held_out in enumerate(by_corpus):
        rest = [(c, s) for c in by_corpus if c != held_out for s in by_corpus[c]]
        train, val = validation_split([c for c, _ in rest], [s for _, s in rest],
                                      fraction=fraction, seed=seed)
        folds[held_out] = Fold(index, frozenset(by_corpus[held_out]), val, train)
    return folds
