"""t-SNE (van der Maaten & Hinton 2008) for Figure 3 of the paper (docs/spec.md §6): embeddings of FC activations.

Reading order: :func:`squared_distances` → :func:`conditional_probabilities` (perplexity calibration)
→ :func:`joint_probabilities` → :func:`kl_divergence` / :func:`kl_gradient` (the cost and its
gradient, plain NumPy) → :func:`tsne` (gradient descent with momentum, gains and early
exaggeration; its inner gradient is the Numba kernel :func:`_kl_gradient_numba`, tested equal to
:func:`kl_gradient`).
"""
import warnings

import numpy as np
from numba import njit

from numser.errors import ParameterError


def squared_distances(X):
    """Pairwise squared Euclidean distances.

    Equation
    --------
    ``D_ij = ||x_i - x_j||² = ||x_i||² + ||x_j||² - 2 x_i·x_j`` (clipped at 0 against rounding).

    Parameters
    ----------
    X : ndarray of float64, shape (N, F)

    Returns
    -------
    D : ndarray of float64, shape (N, N)
        Symmetric, zero diagonal.
    """
    sq = np.einsum("ij,ij->i", X, X)                       # (N,)
    D = sq[:, None] + sq[None, :] - 2.0 * (X @ X.T)        # (N, N)
    np.maximum(D, 0.0, out=D)
    np.fill_diagonal(D, 0.0)
    return D


def _row_entropy(Dr, beta, cols):
    """Conditional rows ``p_{j|i} ∝ exp(-β_i Dr_ij)``, ``p_{i|i} = 0``, and their entropies (nats).

    ``Dr`` (R, N) holds the shifted distances of rows whose own column index is ``cols`` (R,).
    """
    P = np.exp(-Dr * beta[:, None])                        # (R, N)
    P[np.arange(cols.size), cols] = 0.0                    # a point is not its own neighbour
    sums = P.sum(axis=1)                                   # (R,)
    # ln p_j|i = -β D_ij - ln s_i, so H_i = -Σ_j p_j|i ln p_j|i = ln s_i + β Σ_j D_ij p_j|i
    H = np.log(sums) + beta * np.einsum("ij,ij->i", Dr, P) / sums
    return P / sums[:, None], H


def conditional_probabilities(D, perplexity, *, tol=1e-5, max_steps=50):
    """Calibrate one Gaussian precision per point so that each row has the target perplexity.

    Equation
    --------
    ``p_{j|i} = exp(-β_i D_ij) / Σ_{k≠i} exp(-β_i D_ik)``, ``p_{i|i} = 0``, with β_i = 1/(2σ_i²)
    found by bisection on ``H_i(β_i) = -Σ_j p_{j|i} ln p_{j|i}`` (nats, decreasing in β_i) until
    ``|H_i - ln(perplexity)| < tol``. Perplexity ``2^{H in bits} = e^{H in nats}`` is the effective
    number of neighbours.

    Parameters
    ----------
    D : ndarray of float64, shape (N, N)
        Squared distances (:func:`squared_distances`).
    perplexity : float, 0 < perplexity < N - 1
    tol : float
        Tolerance on the entropy in nats (1e-5).
    max_steps : int
        Bisection steps per row (50); rows still off target after them trigger a warning.

    Returns
    -------
    P : ndarray of float64, shape (N, N)
        Rows sum to 1, zero diagonal.
    beta : ndarray of float64, shape (N,)
        The precisions β_i.

    Notes
    -----
    All rows are searched at once (vectorised over the rows still off target). Each row's
    distances are shifted by their off-diagonal minimum before the exponential, which leaves
    p_{j|i} unchanged and keeps the nearest neighbour from underflowing. The search starts at
    β_i = 1 / mean_j D_ij (scale-free) and doubles/halves until it brackets the root.
    """
    N = D.shape[0]
    diag = np.eye(N, dtype=bool)
    Dr = np.where(diag, np.inf, D)
    Dr = Dr - Dr.min(axis=1, keepdims=True)
    Dr[diag] = 0.0
    target = np.log(perplexity)
    mean_d = D.sum(axis=1) / max(N - 1, 1)
    beta = 1.0 / np.where(mean_d > 0, mean_d, 1.0)
    lo = np.zeros(N)
    hi = np.full(N, np.inf)
    P = np.zeros((N, N))
    active = np.arange(N)
    for _ in range(max_steps):
        Pa, H = _row_entropy(Dr[active], beta[active], active)
        P[active] = Pa
        diff = H - target
        done = np.abs(diff) < tol
        b = beta[active]
        flat = diff > 0                                     # too many neighbours: sharpen (β up)
        lo[active[flat]] = b[flat]
        hi[active[~flat]] = b[~flat]
        h = hi[active]
        l = lo[active]
        new = np.where(flat, np.where(np.isinf(h), 2.0 * b, 0.5 * (b + h)),
                       np.where(l == 0, 0.5 * b, 0.5 * (b + l)))
        beta[active] = np.where(done, b, new)
        active = active[~done]
        if active.size == 0:
            break
    if active.size:
        warnings.warn(f"t-SNE perplexity calibration: {active.size} of {N} rows missed entropy "
                      f"tolerance {tol} after {max_steps} steps (duplicate points?); their "
                      "perplexity is approximate", UserWarning, stacklevel=2)
    return P, beta


def joint_probabilities(X, perplexity):
    """Symmetric joint affinities of the input points.

    Equation
    --------
    ``P_ij = (p_{j|i} + p_{i|j}) / (2N)``, so ``Σ_ij P_ij = 1`` and every point gets at least
    ``1/(2N)`` of the mass (outliers are not ignored).

    Parameters
    ----------
    X : ndarray of float64, shape (N, F)
    perplexity : float

    Returns
    -------
    P : ndarray of float64, shape (N, N)
        Symmetric, zero diagonal, sums to 1.
    """
    Pc, _ = conditional_probabilities(squared_distances(X), perplexity)
    N = X.shape[0]
    return (Pc + Pc.T) / (2.0 * N)


def _student_t(Y):
    """Unnormalised Student-t kernel ``w_ij = 1 / (1 + ||y_i - y_j||²)`` with zero diagonal."""
    W = 1.0 / (1.0 + squared_distances(Y))                  # (N, N)
    np.fill_diagonal(W, 0.0)
    return W


def kl_divergence(P, Y):
    """The t-SNE cost: Kullback-Leibler divergence of Q (from the embedding Y) from P.

    Equation
    --------
    ``C = KL(P || Q) = Σ_{i≠j} P_ij ln(P_ij / Q_ij)``, ``Q_ij = w_ij / Σ_{k≠l} w_kl``,
    ``w_ij = (1 + ||y_i - y_j||²)^{-1}``; terms with P_ij = 0 are 0.

    Parameters
    ----------
    P : ndarray of float64, shape (N, N)
        Joint affinities (:func:`joint_probabilities`).
    Y : ndarray of float64, shape (N, d)
        The embedding.

    Returns
    -------
    C : float
    """
    W = _student_t(Y)
    Q = W / W.sum()
    m = P > 0
    return float(np.sum(P[m] * np.log(P[m] / Q[m])))


def kl_gradient(P, Y):
    """The KL cost and its gradient with respect to the embedding (NumPy reference).

    Equation
    --------
    ``∂C/∂y_i = 4 Σ_j (P_ij - Q_ij) w_ij (y_i - y_j)``; in matrix form, with
    ``M = (P - Q) ∘ W``: ``∂C/∂Y = 4 (diag(M 1) Y - M Y)``.

    Parameters
    ----------
    P : ndarray of float64, shape (N, N)
    Y : ndarray of float64, shape (N, d)

    Returns
    -------
    C : float
    dY : ndarray of float64, shape (N, d)
    """
    W = _student_t(Y)
    Q = W / W.sum()
    M = (P - Q) * W                                          # (N, N)
    dY = 4.0 * (M.sum(axis=1)[:, None] * Y - M @ Y)          # (N, d)
    m = P > 0
    return float(np.sum(P[m] * np.log(P[m] / Q[m]))), dY


@njit(cache=True, fastmath=True)
def _kl_gradient_numba(P, Y, scale):
    """``∂C/∂Y`` for the affinities ``scale · P``, in one pass over the pairs, no N x N buffer.

    Same result as :func:`kl_gradient` (``scale`` is the early exaggeration), split into the
    attractive and the repulsive force so that Z is not needed until the end of the pass:
    ``∂C/∂y_i = 4 [Σ_j scale P_ij w_ij (y_i - y_j) - (1/Z) Σ_j w_ij² (y_i - y_j)]``
    (``Q_ij w_ij = w_ij² / Z``), each sum as ``y_i Σ_j a_j - Σ_j a_j y_j``. Every inner loop runs
    over j on contiguous memory (Y transposed) without a branch, so it vectorises: j = i is
    included, its w_ii = 1 is taken out of Z, and its terms cancel in ``y_i a_i - a_i y_i``.

    Serial on purpose: t-SNE calls it 1000 times and a ``prange`` version pays a fork-join on each
    call; on the shared 2-core machine (load ~7) the prange version took 38-49 ms per gradient at
    N = 2000 with 2 threads against 10-13 ms with 1 thread.
    """
    N, d = Y.shape
    Yt = np.ascontiguousarray(Y.T)                           # (d, N)
    row_z = np.zeros(N)
    attract = np.zeros((N, d))
    repel = np.zeros((N, d))
    for i in range(N):
        r = np.zeros(N)                                      # ||y_i - y_j||², then w_ij²
        a = np.empty(N)                                      # scale P_ij w_ij
        for k in range(d):
            for j in range(N):
                t = Y[i, k] - Yt[k, j]
                r[j] += t * t
        z = 0.0
        a_sum = 0.0
        r_sum = 0.0
        for j in range(N):
            w = 1.0 / (1.0 + r[j])
            z += w
            a[j] = scale * P[i, j] * w
            a_sum += a[j]
            r[j] = w * w
            r_sum += r[j]
        row_z[i] = z - 1.0
        for k in range(d):
            sa = 0.0
            sr = 0.0
            for j in range(N):
                sa += a[j] * Yt[k, j]
                sr += r[j] * Yt[k, j]
            attract[i, k] = Y[i, k] * a_sum - sa
            repel[i, k] = Y[i, k] * r_sum - sr
    return 4.0 * (attract - repel / row_z.sum())


def _check(X, n_components, perplexity, n_iter, learning_rate, early_exaggeration,
           exaggeration_iters, seed):
    X = np.asarray(X)
    if X.ndim != 2 or not np.issubdtype(X.dtype, np.number):
        raise ParameterError(f"X has shape {X.shape} and dtype {X.dtype}: expected a real (N, F) "
                             "matrix, one row per point")
    if not np.all(np.isfinite(X)):
        raise ParameterError("X contains NaN or inf: t-SNE needs finite features")
    N = X.shape[0]
    if N < 3:
        raise ParameterError(f"X has {N} points: t-SNE needs at least 3")
    for name, value in (("n_components", n_components), ("n_iter", n_iter)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ParameterError(f"{name}={value!r}: must be an integer >= 1")
    if isinstance(exaggeration_iters, bool) or not isinstance(exaggeration_iters,
                                                              (int, np.integer)) \
            or exaggeration_iters < 0:
        raise ParameterError(f"exaggeration_iters={exaggeration_iters!r}: must be an integer >= 0")
    if not 0 < perplexity < N - 1:
        raise ParameterError(f"perplexity={perplexity!r} with N={N} points: must be in "
                             f"(0, {N - 1}) (it is an effective number of neighbours); "
                             f"try {max(1.0, min(30.0, (N - 1) / 3)):.3g}")
    for name, value in (("learning_rate", learning_rate),
                        ("early_exaggeration", early_exaggeration)):
        if not np.isfinite(value) or value <= 0:
            raise ParameterError(f"{name}={value!r}: must be a positive number")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed={seed!r}: must be an integer")
    return X.astype(np.float64)


def tsne(X, *, n_components=2, perplexity=30.0, n_iter=1000, learning_rate=200.0,
         early_exaggeration=12.0, exaggeration_iters=250, seed=0):
    """Embed the rows of X in n_components dimensions by t-SNE.

    Equation
    --------
    Minimise ``C(Y) = KL(P || Q)`` (:func:`kl_divergence`) by gradient descent with momentum and
    per-coordinate gains (Jacobs' delta-bar-delta):
    ``g ← g + 0.2`` where the gradient's sign differs from the last update's, ``g ← 0.8 g``
    where they agree, ``g ≥ 0.01``; ``U ← α U - η g ∘ ∂C/∂Y``; ``Y ← Y + U``; Y re-centred.
    ``α = 0.5`` and P multiplied by ``early_exaggeration`` for the first ``exaggeration_iters``
    iterations, ``α = 0.8`` afterwards. ``Y(0) ~ N(0, 10⁻⁴ I)`` (standard deviation 0.01).

    Parameters
    ----------
    X : array_like of float, shape (N, F)
        Points (e.g. the top FC layer's activations of one test fold).
    n_components : int >= 1
        d, the embedding dimension (2 for Figure 3).
    perplexity : float in (0, N - 1)
        Effective number of neighbours (30).
    n_iter : int >= 1
        Gradient steps (1000).
    learning_rate : float > 0
        η (200).
    early_exaggeration : float > 0
        Factor on P during the first iterations (12).
    exaggeration_iters : int >= 0
        How long the exaggeration and the low momentum last (250).
    seed : int
        Seeds the initial Y; the same seed gives the same output.

    Returns
    -------
    Y : ndarray of float64, shape (N, n_components)

    Raises
    ------
    ParameterError
        X not a finite (N, F) matrix with N >= 3, or an option out of range.

    Notes
    -----
    van der Maaten & Hinton, JMLR 9 (2008), Algorithm 1 and Section 3.4 (exaggeration 12 and 250
    iterations as in later implementations). docs/spec.md §6, Figure 3 of the paper. O(N²) memory and
    time per iteration: fine for one test fold (N of a few thousand).
    """
    X = _check(X, n_components, perplexity, n_iter, learning_rate, early_exaggeration,
               exaggeration_iters, seed)
    N = X.shape[0]
    P = joint_probabilities(X, perplexity)
    P = np.maximum(P, 1e-12)     # no zero affinities off the diagonal (no log 0, no dead pairs)
    np.fill_diagonal(P, 0.0)
    P /= P.sum()
    rng = np.random.default_rng(seed)
    Y = rng.normal(0.0, 1e-2, size=(N, n_components))
    update = np.zeros_like(Y)
    gains = np.ones_like(Y)
    for it in range(n_iter):
        exploring = it < exaggeration_iters
        momentum = 0.5 if exploring else 0.8
        dY = _kl_gradient_numba(P, Y, early_exaggeration if exploring else 1.0)
        # delta-bar-delta: where the last update still points down the gradient (opposite
        # signs) the direction is stable, so grow that coordinate's gain; where they agree the
        # step overshot, so shrink it
        same = (dY > 0) == (update > 0)
        gains = np.where(same, gains * 0.8, gains + 0.2)
        np.maximum(gains, 0.01, out=gains)
        update = momentum * update - learning_rate * gains * dY
        Y = Y + update
        Y -= Y.mean(axis=0)
    return Y
