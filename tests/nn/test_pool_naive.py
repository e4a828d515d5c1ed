"""The loop-level max-pooling (numser.nn.pool_naive) against numser.nn.pool's kernels."""
import numpy as np
import pytest

from numser.nn.pool import maxpool3d_backward, maxpool3d_forward
from numser.nn.pool_naive import maxpool_naive_backward, maxpool_naive_forward


@pytest.mark.parametrize("shape, size", [((2, 3, 4, 6, 8), (2, 2, 2)),
                                         ((1, 2, 5, 5, 9), (2, 2, 2)),       # remainders dropped
                                         ((2, 1, 1, 3, 40), (1, 1, 40)),
                                         ((1, 2, 3, 4, 6), (1, 2, 3))])
def test_naive_equals_kernels(shape, size):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    y, cache = maxpool3d_forward(x, size)
    y_naive, arg_naive = maxpool_naive_forward(x, size)
    np.testing.assert_array_equal(y, y_naive)
    np.testing.assert_array_equal(cache[0], arg_naive)
    dout = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(maxpool3d_backward(dout, cache),
                                  maxpool_naive_backward(dout, arg_naive, shape, size))


def test_ties_go_to_the_first_maximum_in_c_order():
    x = np.zeros((1, 1, 2, 2, 2))                 # one window, all tied
    y, arg = maxpool_naive_forward(x, (2, 2, 2))
    assert y.ravel()[0] == 0 and arg.ravel()[0] == 0
    dx = maxpool_naive_backward(np.ones((1, 1, 1, 1, 1)), arg, x.shape, (2, 2, 2))
    assert dx[0, 0, 0, 0, 0] == 1 and dx.sum() == 1
    _, cache = maxpool3d_forward(x, (2, 2, 2))
    assert cache[0].ravel()[0] == 0
