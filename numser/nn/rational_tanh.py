"""A speed trick of the LSTM kernels: tanh and σ of one scalar, rational in float32 so loops vectorise.

Inside a Numba loop, a call to libm's ``tanhf`` (or ``expf``) stops LLVM from vectorising the
loop. The float32 kernels therefore evaluate tanh as Eigen's fast tanh: an odd polynomial of
degree 13 over an even one of degree 6, with the argument clamped to |x| <= 7.90531 — the point
where this rational function reaches 1.0 in float32. It is plain arithmetic, so it vectorises
(AVX). The float64 kernels, which the gradient checks run, call ``np.tanh`` itself.

Equation (float32)
------------------
    x' = clip(x, -7.90531, 7.90531),   z = x'^2
    tanh(x) ~ x' * (p0 z^6 + p1 z^5 + ... + p6) / (q0 z^3 + q1 z^2 + q2 z + q3)

Accuracy, measured (``tests/nn/test_rational_tanh.py`` asserts the bounds): largest error on
[-12, 12] below 4e-7 (np.tanh in float32: 6e-8). The clamp is where the *approximation* reaches
1.0 in float32, not tanh: tanh(7.90531) = 1 - 2.7e-7 (0.9999997 rounded to float32, 0.99999976
from NumPy's float32 ``np.tanh``), so beyond the clamp the error is at most 2.7e-7. The exact tanh
rounds to 1 in float32 only from |x| = 9.0109 (artanh(1 - 2^-25)); NumPy's float32 ``np.tanh``
returns 1 from |x| = 10.

σ from the same code
--------------------
The kernels take σ(x) = 1/2 + tanh(x/2)/2, so σ vectorises too. :func:`numser.nn.activations.sigmoid`
rejects that form because it cancels: for x << 0 the sum 1/2 - (1/2 - tiny) loses the relative
precision of a small σ (in float32 the kernels' σ is exactly 0 below x = -15.81, where the true σ
is below 1.4e-7). Inside the LSTM cell that does not matter: a gate only ever multiplies c_(t-1),
g_t or tanh(c_t), so what reaches c_t and h_t is the gate's *absolute* error, and that stays
small: measured on [-40, 40], at most 2.1e-7 in float32 (activations.sigmoid: 8.9e-8) and
1.5e-16 in float64 (1.7e-16), relative error below 2.1e-7 wherever σ >= 1/2.
"""
import numpy as np
from numba import types
from numba.extending import overload

#: |x| from which the float32 approximation returns ±1 (its value there rounds to 1.0 in float32).
CLAMP = 7.90531110763549805
#: Numerator coefficients, highest power of x^2 first (the whole numerator is this times x).
P = (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
     5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
     4.89352455891786e-03)
#: Denominator coefficients, highest power of x^2 first.
Q = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
     4.89352518554385e-03)


def tanh_f32_numpy(x):
    """NumPy version of the float32 kernels' rational tanh (for tests and reading).

    Parameters
    ----------
    x : array_like, any shape (cast to float32)

    Returns
    -------
    ndarray, float32, shape of x
    """
    x = np.clip(np.asarray(x, dtype=np.float32), -CLAMP, CLAMP)
    x2 = x * x
    p = np.float32(P[0])
    for coef in P[1:]:
        p = p * x2 + np.float32(coef)
    q = np.float32(Q[0])
    for coef in Q[1:]:
        q = q * x2 + np.float32(coef)
    return p * x / q


def scalar_tanh(x):
    """tanh of one scalar inside a kernel (typed per dtype by the overload below)."""
    return np.tanh(x)


def scalar_sigmoid(x):
    """σ of one scalar inside a kernel, as (1 + tanh(x/2)) / 2 (see the module docstring)."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


@overload(scalar_tanh)
def _scalar_tanh_typed(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        f32 = np.float32
        c = f32(CLAMP)
        p0, p1, p2, p3, p4, p5, p6 = (f32(v) for v in P)
        q0, q1, q2, q3 = (f32(v) for v in Q)

        def tanh32(x):
            x = c if x > c else (-c if x < -c else x)
            x2 = x * x
            p = ((((((p0 * x2 + p1) * x2 + p2) * x2 + p3) * x2 + p4) * x2 + p5) * x2 + p6) * x
            q = ((q0 * x2 + q1) * x2 + q2) * x2 + q3
            return p / q
        return tanh32
    return lambda x: np.tanh(x)


@overload(scalar_sigmoid)
def _scalar_sigmoid_typed(x):
    half = np.float32(0.5) if isinstance(x, types.Float) and x.bitwidth == 32 else 0.5
    return lambda x: half + half * scalar_tanh(half * x)
