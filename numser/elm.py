"""Utterance functionals of segment posteriors and the extreme learning machine (docs/spec.md §5; Han et al. 2014).

Reading order: :func:`utterance_functionals` (segment posteriors → one vector per utterance),
:func:`solve_output_weights` (the closed form, primal or dual), :class:`ELM`, :func:`select_elm`.
"""
import numpy as np
import scipy.linalg
from scipy.special import expit

from numser.errors import ParameterError
from numser.metrics import unweighted_accuracy

#: The functionals of each class, in column order inside a class's block of 4.
FUNCTIONALS = ("max", "min", "mean", "frac_above")


def utterance_functionals(posteriors, *, threshold=0.2):
    """Summarise the segment posteriors of each utterance by 4 functionals per class.

    Equation
    --------
    For utterance n, class k and segments t = 1..T with posteriors ``p_k(t)``:
    ``F[n, 4k + 0] = max_t p_k(t)``, ``F[n, 4k + 1] = min_t p_k(t)``,
    ``F[n, 4k + 2] = (1/T) Σ_t p_k(t)``, ``F[n, 4k + 3] = (1/T) #{t : p_k(t) > threshold}``.

    Parameters
    ----------
    posteriors : array_like of float, shape (N, T, K) or (T, K)
        Segment posteriors (frames for DNN-/LSTM-ELM, the 10 L-steps for 3D-CNN-DNN-ELM).
    threshold : float
        0.2 (docs/spec.md §5).

    Returns
    -------
    F : ndarray of float64, shape (N, 4K), or (4K,) for a single (T, K) input
        Class-major blocks of :data:`FUNCTIONALS`: columns 0..3 are neutral's max, min, mean,
        fraction, columns 4..7 happy's, and so on (16 numbers for K = 4).

    Raises
    ------
    ParameterError
        Not 2-D or 3-D, T = 0 or K = 0, or non-finite values.

    Notes
    -----
    docs/spec.md §5, following Han et al. 2014 / Lee & Tashev 2015 as the paper does (Section 4).
    """
    p = np.asarray(posteriors, dtype=np.float64)
    if p.ndim not in (2, 3):
        raise ParameterError(f"posteriors has shape {p.shape}: expected (N, T, K) segment "
                             "posteriors, or (T, K) for one utterance")
    single = p.ndim == 2
    if single:
        p = p[None]                                            # (1, T, K)
    N, T, K = p.shape
    if T == 0 or K == 0:
        raise ParameterError(f"posteriors has shape {p.shape}: needs at least one segment and "
                             "one class")
    if not np.all(np.isfinite(p)):
        raise ParameterError("posteriors contain NaN or inf: check the network's softmax output")
    F = np.stack([p.max(axis=1), p.min(axis=1), p.mean(axis=1),
                  (p > threshold).mean(axis=1)], axis=2)       # (N, K, 4)
    F = F.reshape(N, 4 * K)                                    # class-major: (N, 4K)
    return F[0] if single else F


def solve_output_weights(H, Y, C, *, form="auto"):
    """Output weights of an ELM: ridge regression of the targets on the hidden activations.

    Equation
    --------
    ``β = argmin_β ||Hβ - Y||² + ||β||²/C = (HᵀH + I/C)⁻¹ HᵀY``            (primal, L x L system)
    ``  = Hᵀ (HHᵀ + I/C)⁻¹ Y``                                           (dual, N x N system)
    The two agree by the push-through identity ``(HᵀH + I/C)⁻¹Hᵀ = Hᵀ(HHᵀ + I/C)⁻¹``. Both
    systems are symmetric positive definite (C > 0), so they are solved by Cholesky, never by
    forming an inverse.

    Parameters
    ----------
    H : ndarray of float64, shape (N, L)
        Hidden activations of N training samples.
    Y : ndarray of float64, shape (N, K)
        Targets (one-hot).
    C : float > 0
        Regularisation: larger C, weaker penalty.
    form : {'auto', 'primal', 'dual'}
        'auto' solves the smaller system: primal when L <= N, dual otherwise.

    Returns
    -------
    beta : ndarray of float64, shape (L, K)
    """
    N, L = H.shape
    if form == "auto":
        form = "primal" if L <= N else "dual"
    if form == "primal":
        A = H.T @ H                                            # (L, L)
        A[np.diag_indices_from(A)] += 1.0 / C
        return scipy.linalg.solve(A, H.T @ Y, assume_a="pos")
    if form == "dual":
        A = H @ H.T                                            # (N, N)
        A[np.diag_indices_from(A)] += 1.0 / C
        return H.T @ scipy.linalg.solve(A, Y, assume_a="pos")
    raise ParameterError(f"form={form!r}: must be one of ('auto', 'primal', 'dual')")


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class ELM:
    """Extreme learning machine: fixed random sigmoid features, closed-form linear read-out.

    Equation
    --------
    ``H = σ(X A + b)``, ``σ(u) = 1 / (1 + e^{-u})``; ``A ~ U[-1, 1]^{D x L}``, ``b ~ U[-1, 1]^L``
    drawn once from ``np.random.default_rng(seed)`` (A first, then b) and never trained;
    ``β = (HᵀH + I/C)⁻¹ HᵀY`` (:func:`solve_output_weights`) with Y the one-hot labels;
    outputs ``O = H β`` (N, K), prediction ``argmax_k O``, probabilities ``softmax(O)``.

    Parameters
    ----------
    n_hidden : int >= 1
        L, the number of hidden units.
    C : float > 0
        Regularisation constant.
    seed : int
        Seeds the random input weights.

    Attributes
    ----------
    A : ndarray of float64, shape (D, L); b : shape (L,); beta : shape (L, K)
        Set by :meth:`fit`.

    Notes
    -----
    docs/spec.md §5 and Han et al. 2014 (the input weights are uniform in [-1, 1], the classic choice of
    Huang et al. 2006; the functionals are already in [0, 1], so no input scaling is needed).
    """

    def __init__(self, n_hidden, C, *, seed=0):
        if isinstance(n_hidden, bool) or not isinstance(n_hidden, (int, np.integer)) \
                or n_hidden < 1:
            raise ParameterError(f"n_hidden={n_hidden!r}: must be an integer >= 1")
        if not (isinstance(C, (int, float, np.integer, np.floating)) and np.isfinite(C) and C > 0):
            raise ParameterError(f"C={C!r}: must be a positive number (the ridge penalty is 1/C)")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ParameterError(f"seed={seed!r}: must be an integer")
        self.n_hidden, self.C, self.seed = int(n_hidden), float(C), int(seed)
        self.A = self.b = self.beta = None

    def __repr__(self):
        fitted = "" if self.beta is None else f", {self.A.shape[0]} -> {self.beta.shape[1]}"
        return f"ELM(n_hidden={self.n_hidden}, C={self.C:g}, seed={self.seed}{fitted})"

    def _check_X(self, X, fitting):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ParameterError(f"X has shape {X.shape}: expected a non-empty (N, D) matrix of "
                                 "utterance features")
        if not np.all(np.isfinite(X)):
            raise ParameterError("X contains NaN or inf")
        if not fitting:
            if self.beta is None:
                raise ParameterError(f"{self!r} is not fitted: call fit(X, y) first")
            if X.shape[1] != self.A.shape[0]:
                raise ParameterError(f"X has {X.shape[1]} features but the ELM was fitted on "
                                     f"{self.A.shape[0]}")
        return X

    def hidden(self, X):
        """Hidden activations ``H = σ(XA + b)``, shape (N, L)."""
        return expit(self._check_X(X, fitting=False) @ self.A + self.b)     # (N, L)

    def fit(self, X, y, *, n_classes=None):
        """Draw the random layer and solve the output weights on (X, y).

        Parameters
        ----------
        X : array_like of float, shape (N, D)
        y : array_like of int, shape (N,)
            Class indices 0..K-1.
        n_classes : int, optional
            K; defaults to ``max(y) + 1`` (pass 4 so a class missing from training still gets
            an output column).

        Returns
        -------
        self
        """
        X = self._check_X(X, fitting=True)
        y = np.asarray(y)
        if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer) or np.any(y < 0):
            raise ParameterError(f"y has shape {y.shape} and dtype {y.dtype}: expected {X.shape[0]}"
                                 " non-negative integer class indices")
        K = int(y.max()) + 1 if n_classes is None else int(n_classes)
        if np.any(y >= K):
            raise ParameterError(f"y contains {int(y.max())} but n_classes={K}")
        rng = np.random.default_rng(self.seed)
        self.A = rng.uniform(-1.0, 1.0, size=(X.shape[1], self.n_hidden))   # (D, L)
        self.b = rng.uniform(-1.0, 1.0, size=self.n_hidden)                  # (L,)
        H = expit(X @ self.A + self.b)                                       # (N, L)
        Y = np.eye(K)[y]                                                     # (N, K) one-hot
        self.beta = solve_output_weights(H, Y, self.C)
        return self

    def decision_function(self, X):
        """Linear outputs ``O = Hβ``, shape (N, K)."""
        return self.hidden(X) @ self.beta

    def predict(self, X):
        """Predicted class indices ``argmax_k O``, shape (N,) int64."""
        return self.decision_function(X).argmax(axis=1)

    def predict_proba(self, X):
        """Softmax of the outputs, shape (N, K); rows sum to 1."""
        return _softmax(self.decision_function(X))

    def state(self):
        """Everything needed to rebuild the fitted model, as plain NumPy arrays (for np.savez)."""
        if self.beta is None:
            raise ParameterError(f"{self!r} is not fitted: nothing to save")
        return {"A": self.A.copy(), "b": self.b.copy(), "beta": self.beta.copy(),
                "n_hidden": np.array(self.n_hidden), "C": np.array(self.C),
                "seed": np.array(self.seed)}

    @classmethod
    def from_state(cls, state):
        """Rebuild an ELM from :meth:`state` (or the arrays of an ``np.load`` of it)."""
        missing = {"A", "b", "beta", "n_hidden", "C", "seed"} - set(state)
        if missing:
            raise ParameterError(f"ELM state lacks {sorted(missing)}: save it with ELM.state()")
        elm = cls(int(state["n_hidden"]), float(state["C"]), seed=int(state["seed"]))
        elm.A = np.array(state["A"], dtype=np.float64)
        elm.b = np.array(state["b"], dtype=np.float64)
        elm.beta = np.array(state["beta"], dtype=np.float64)
        if elm.A.shape[1] != elm.n_hidden or elm.b.shape != (elm.n_hidden,) \
                or elm.beta.shape[0] != elm.n_hidden:
            raise ParameterError(f"ELM state shapes disagree: A {elm.A.shape}, b {elm.b.shape}, "
                                 f"beta {elm.beta.shape}, n_hidden {elm.n_hidden}")
        return elm


def select_elm(X_train, y_train, X_val, y_val, *, hidden_grid=(50, 100, 200, 500),
               C_grid=(0.01, 0.1, 1, 10, 100), seed=0, n_classes=None):
    """Choose the ELM's hidden size and C by UA on the validation split.

    Parameters
    ----------
    X_train : array_like, shape (N, D); y_train : shape (N,)
    X_val : array_like, shape (M, D); y_val : shape (M,)
    hidden_grid : sequence of int
    C_grid : sequence of float
    seed : int
        Every candidate uses the same random layer seed.
    n_classes : int, optional
        K (defaults to 1 + the largest label in either split).

    Returns
    -------
    elm : ELM
        The best candidate, fitted on the training split.
    table : list of dict
        One row per candidate, ``{"n_hidden", "C", "val_ua"}``, in grid order.

    Notes
    -----
    docs/spec.md §5: "hidden size and C chosen on the validation split". Ties in validation UA go to
    the smaller model: fewer hidden units, then the smaller C (the stronger penalty).
    """
    if n_classes is None:
        n_classes = int(max(np.max(y_train), np.max(y_val))) + 1
    table, best, best_key = [], None, None
    for L in hidden_grid:
        for C in C_grid:
            elm = ELM(L, C, seed=seed).fit(X_train, y_train, n_classes=n_classes)
            ua = unweighted_accuracy(y_val, elm.predict(X_val), n_classes)
            table.append({"n_hidden": int(L), "C": float(C), "val_ua": ua})
            key = (-ua, L, C)
            if best_key is None or key < best_key:
                best, best_key = elm, key
    return best, table
