"""Inverted dropout (p = .5 on the FC layers, docs/spec.md §6): zero units at random in training only."""
import numpy as np
from numba import njit

from numser.errors import ParameterError
from numser.nn import threads
from numser.nn._checks import check_input, default_rng
from numser.nn.layer import Layer


def dropout_forward(x, p, rng):
    """Inverted dropout: keep each unit with probability 1 − p and scale the kept ones by 1/(1 − p).

    Equation
    --------
    Let x be the input, p ∈ [0, 1) the drop probability and r a tensor shaped like x with
    independent r ~ Bernoulli(1 − p). The mask is m = r / (1 − p). Forward and backward:

        y = m ⊙ x                 ∂ℓ/∂x = m ⊙ ∂ℓ/∂y

    E[m] = 1, so E[y] = x and evaluation needs no rescaling: at evaluation y = x.

    Parameters
    ----------
    x : np.ndarray, any shape, float32 or float64
    p : float in [0, 1)
    rng : np.random.Generator
        Draws r; the same generator state gives the same mask for float32 and float64 inputs.

    Returns
    -------
    out : np.ndarray, shape and dtype of x
    mask : np.ndarray, shape and dtype of x, the m above (the cache)
    """
    keep = rng.random(x.shape) >= p                 # float64 draws, so the mask ignores dtype
    mask = keep.astype(x.dtype) / x.dtype.type(1.0 - p)
    return x * mask, mask


#: Draws per piece of :func:`dropout_forward_blocks`: its raw outputs (512 KiB) stay in cache
#: instead of streaming a 52 MB float64 array through memory.
PIECE = 1 << 16
_TWO_M53 = 1.0 / 9007199254740992.0                 # 2⁻⁵³


def mask_piece_numpy(raw, x, p, scale, mask, out):
    """One piece of :func:`dropout_forward_blocks`, in place, with the ufuncs of :func:`dropout_forward`.

    raw : uint64 (n,), PCG64 outputs; x, mask, out : (n,) of x's dtype; scale = dtype(1 − p).
    u = (raw >> 11) · 2⁻⁵³ is ``Generator.random``'s number; mask = [u ≥ p] / scale; out = x · mask.
    """
    u = (raw >> np.uint64(11)) * _TWO_M53
    mask[...] = (u >= p).astype(x.dtype) / scale
    np.multiply(x, mask, out=out)


@njit(cache=True, nogil=True, error_model="numpy")
def mask_piece_numba(raw, x, p, scale, mask, out):
    """Numba kernel of :func:`mask_piece_numpy` (same arguments, one pass)."""
    keep, drop = x.dtype.type(1) / scale, x.dtype.type(0) / scale   # [u ≥ p] / scale, in x's dtype
    for i in range(raw.size):
        u = np.float64(raw[i] >> np.uint64(11)) * _TWO_M53
        m = keep if u >= p else drop
        mask[i] = m
        out[i] = x[i] * m


def dropout_forward_blocks(x, p, rng, kernel=mask_piece_numba):
    """:func:`dropout_forward` for a PCG64 generator, in cache-sized pieces on numser's threads.

    The same numbers as :func:`dropout_forward`, bit for bit, and the same generator state
    afterwards. ``Generator.random`` turns each 64-bit output r of PCG64 into
    u = (r >> 11) · 2⁻⁵³; here each thread takes a copy of the generator advanced to the start of
    its block (``PCG64.advance``: as if that many outputs had been drawn), draws the raw
    outputs of its block piece by piece and forms the same u, mask and product (``kernel``:
    :func:`mask_piece_numba`, or the ufuncs of :func:`mask_piece_numpy`). Finally ``rng`` is
    moved past all x.size outputs (keeping its buffered 32-bit half, which ``random`` does not
    touch).

    Parameters
    ----------
    x : np.ndarray, C-contiguous, float32 or float64
    p : float in [0, 1)
    rng : np.random.Generator whose ``bit_generator`` is a ``np.random.PCG64``

    Returns
    -------
    out, mask : as :func:`dropout_forward`
    """
    state = rng.bit_generator.state
    scale = x.dtype.type(1.0 - p)
    out, mask = np.empty_like(x), np.empty_like(x)
    xf, of, mf = x.reshape(-1), out.reshape(-1), mask.reshape(-1)

    def at(offset):
        g = np.random.PCG64()
        g.state = state
        g.advance(offset)
        return g

    def block(s, e):
        g = at(s)
        for a in range(s, e, PIECE):
            b = min(a + PIECE, e)
            kernel(g.random_raw(b - a), xf[a:b], float(p), scale, mf[a:b], of[a:b])

    threads.run_blocks(x.size, block)
    after = at(x.size).state
    after["has_uint32"], after["uinteger"] = state["has_uint32"], state["uinteger"]
    rng.bit_generator.state = after
    return out, mask


def dropout_backward(dout, mask):
    """Gradient of :func:`dropout_forward`: mask ⊙ dout."""
    return threads.multiply(dout, mask)


class Dropout(Layer):
    """Inverted dropout on ``forward(x, train=True)``; the identity when ``train=False``.

    Parameters
    ----------
    p : float in [0, 1), default 0.5
        Probability of zeroing a unit (docs/spec.md §6: .5 on the FC layers).
    rng : np.random.Generator, optional
        Draws the masks; None means ``np.random.default_rng(0)``. One generator gives a
        reproducible sequence of masks across a training run.

    Notes
    -----
    :meth:`fix_mask` freezes one mask so that a gradient check (which calls ``forward`` many
    times) sees one deterministic function. The equations are in :func:`dropout_forward`.
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        if not (isinstance(p, (int, float, np.floating)) and 0.0 <= p < 1.0):
            raise ParameterError(f"Dropout: p={p!r} must be a probability in [0, 1) "
                                 "(p = 1 would drop every unit); the paper uses 0.5")
        self.p = float(p)
        self.rng = default_rng(rng)
        self.fixed_mask = None

    def fix_mask(self, mask):
        """Use ``mask`` (shaped like the input, values 0 or 1/(1 − p)) in every training forward.

        Pass None to go back to drawing a fresh mask per call.
        """
        self.fixed_mask = None if mask is None else np.asarray(mask)

    def forward(self, x, train=False):
        check_input("Dropout", x, ndim=1)
        if not train or self.p == 0.0:
            self.cache = None                       # identity: backward passes dy through
            return x
        if self.fixed_mask is not None:
            if self.fixed_mask.shape != x.shape:
                raise ParameterError(f"Dropout: fixed mask has shape {self.fixed_mask.shape} but "
                                     f"the input has shape {x.shape}; fix a mask of the input's shape")
            self.cache = self.fixed_mask.astype(x.dtype, copy=False)
            return x * self.cache
        if type(self.rng.bit_generator) is np.random.PCG64 and x.flags.c_contiguous:
            out, self.cache = dropout_forward_blocks(x, self.p, self.rng)
        else:
            out, self.cache = dropout_forward(x, self.p, self.rng)
        return out

    def backward(self, dy):
        return dy if self.cache is None else dropout_backward(dy, self.cache)

    def __repr__(self):
        return f"Dropout(p={self.p})"
