"""Recordings that are byte-identical although listed under different paths.

Some corpora ship such pairs (the staged RAVDESS copy holds two, see its SOURCE.md). They are
kept, since dropping one would change the corpus, but a run names them so that a reader of its
results knows the same recording may sit in two folds' test sets or in training and test.
"""
import hashlib
import os

_CHUNK = 1 << 20


def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def identical_audio(utterances):
    """Groups of utterances whose audio files hold exactly the same bytes.

    Only files of equal size are hashed (SHA-256), so on a corpus without duplicates this costs
    one ``stat`` per file and a hash of the few files that share a size.

    Parameters
    ----------
    utterances : sequence of objects with a ``path`` attribute

    Returns
    -------
    list of list of str
        Each inner list holds ≥ 2 distinct paths with identical content, in the order of
        ``utterances``; groups are ordered by their first path's position. Files that cannot be
        read are left out (the feature extraction reports them).
    """
    by_size, order = {}, {}
    for u in utterances:
        path = os.fspath(u.path)
        if path in order:
            continue
        order[path] = len(order)
        try:
            size = os.stat(path).st_size
        except OSError:
            continue
        by_size.setdefault(size, []).append(path)
    groups = []
    for paths in by_size.values():
        if len(paths) < 2:
            continue
        by_hash = {}
        for path in paths:
            try:
                by_hash.setdefault(_digest(path), []).append(path)
            except OSError:
                continue
        groups += [same for same in by_hash.values() if len(same) > 1]
    return sorted(groups, key=lambda g: order[g[0]])
