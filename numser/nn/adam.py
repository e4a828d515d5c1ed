"""Adam with bias correction (Kingma & Ba 2015), the optimiser of every model (docs/spec.md §6)."""
import math

import numpy as np

from numser.errors import ParameterError


class Adam:
    """Adam: per-parameter steps scaled by running estimates of the gradient's first two moments.

    Equation
    --------
    For a parameter θ with gradient g_t at step t = 1, 2, ..., moments m_0 = v_0 = 0, learning
    rate α, decay rates β1, β2 and ε:

        m_t = β1 m_(t-1) + (1 − β1) g_t              (running mean of g)
        v_t = β2 v_(t-1) + (1 − β2) g_t²             (running mean of g², element-wise)
        m̂_t = m_t / (1 − β1^t)    v̂_t = v_t / (1 − β2^t)    (bias correction: m_0 = v_0 = 0)
        θ_t = θ_(t-1) − α m̂_t / (√v̂_t + ε)

    Parameters
    ----------
    lr : float > 0, default 3e-3
        α (docs/spec.md §6).
    beta1, beta2 : float in [0, 1), defaults 0.9 and 0.999
    eps : float > 0, default 1e-8

    Notes
    -----
    This is the update of the Adam paper's Algorithm 1 and of ``torch.optim.Adam``. Keras adds ε
    to √v_t before the bias correction (ε̂ = ε √(1 − β2^t)); the two differ only when √v̂ ≈ ε.
    State (m, v) is kept by position in the list of (param, grad) pairs, so the model's
    structure must not change between steps; :meth:`state_dict` saves it for resuming.
    """

    def __init__(self, lr=3e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        for name, value, ok in (("lr", lr, lr > 0), ("beta1", beta1, 0 <= beta1 < 1),
                                ("beta2", beta2, 0 <= beta2 < 1), ("eps", eps, eps > 0)):
            if not ok:
                raise ParameterError(f"Adam: {name}={value!r} is out of range (lr > 0, "
                                     "0 <= beta1, beta2 < 1, eps > 0); the paper uses "
                                     "lr=3e-3, beta1=.9, beta2=.999, eps=1e-8")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), float(eps)
        self.t = 0
        self.m = None
        self.v = None

    def _check(self, pairs):
        if self.m is None:
            return
        if len(pairs) != len(self.m):
            raise ParameterError(f"Adam.step: got {len(pairs)} (param, grad) pairs but the state "
                                 f"holds {len(self.m)}; pass parameters(model) of the same model "
                                 "every step (or a new Adam for a new model)")
        for k, ((p, g), m) in enumerate(zip(pairs, self.m)):
            if p.shape != m.shape or g.shape != p.shape:
                raise ParameterError(f"Adam.step: pair {k} has param {p.shape} and grad {g.shape} "
                                     f"but its state is {m.shape}; the model changed since the "
                                     "first step")

    def step(self, pairs, lr=None):
        """Update every parameter in place from its gradient.

        Parameters
        ----------
        pairs : iterable of (np.ndarray, np.ndarray)
            ``numser.nn.layer.parameters(model)``: (param, grad) in a fixed order.
        lr : float, optional
            This step's learning rate, for a schedule such as a warm-up; ``self.lr`` (what
            ``state_dict`` records) when None.
        """
        lr = self.lr if lr is None else float(lr)
        pairs = list(pairs)
        self._check(pairs)
        if self.m is None:
            self.m = [np.zeros_like(p) for p, _ in pairs]
            self.v = [np.zeros_like(p) for p, _ in pairs]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        c1, c2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
        for (p, g), m, v in zip(pairs, self.m, self.v):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            # θ −= α m̂ / (√v̂ + ε), written with the scalars folded in (same arithmetic as torch)
            denom = np.sqrt(v)
            denom /= math.sqrt(c2)
            denom += self.eps
            p -= (lr / c1) * m / denom

    def state_dict(self):
        """Everything needed to resume: hyper-parameters, step count t, copies of m and v."""
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                "t": self.t,
                "m": None if self.m is None else [a.copy() for a in self.m],
                "v": None if self.v is None else [a.copy() for a in self.v]}

    def load_state_dict(self, state):
        """Restore a :meth:`state_dict` (arrays are copied)."""
        missing = {"lr", "beta1", "beta2", "eps", "t", "m", "v"} - set(state)
        if missing:
            raise ParameterError(f"Adam.load_state_dict: keys {sorted(missing)} missing; pass a "
                                 "dict made by Adam.state_dict()")
        if (state["m"] is None) != (state["v"] is None) or \
                (state["m"] is not None and len(state["m"]) != len(state["v"])):
            raise ParameterError("Adam.load_state_dict: m and v must both be None or lists of "
                                 "the same length")
        self.lr, self.beta1, self.beta2, self.eps = (float(state[k]) for k in
                                                     ("lr", "beta1", "beta2", "eps"))
        self.t = int(state["t"])
        self.m = None if state["m"] is None else [np.array(a, copy=True) for a in state["m"]]
        self.v = None if state["v"] is None else [np.array(a, copy=True) for a in state["v"]]

    def __repr__(self):
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps}, t={self.t})"
