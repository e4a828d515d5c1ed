"""t-SNE: perplexity calibration, the KL gradient against finite differences, cluster separation."""
import numpy as np
import pytest

from numser import ParameterError
from numser.tsne import (_kl_gradient_numba, conditional_probabilities, joint_probabilities,
                         kl_divergence, kl_gradient, squared_distances, tsne)


def clusters(n_per, dim, rng, spread=8.0):
    centres = spread * rng.normal(size=(4, dim))
    labels = np.repeat(np.arange(4), n_per)
    return centres[labels] + rng.normal(size=(4 * n_per, dim)), labels


def knn_accuracy(Z, labels, k=5):
    """Leave-one-out k-NN accuracy (majority of the k nearest other points)."""
    D = squared_distances(np.asarray(Z, dtype=np.float64))
    np.fill_diagonal(D, np.inf)
    nearest = np.argsort(D, axis=1)[:, :k]                       # (N, k)
    votes = np.apply_along_axis(np.bincount, 1, labels[nearest], minlength=4)
    return float(np.mean(votes.argmax(axis=1) == labels))


def test_squared_distances_match_direct_formula():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 7))
    direct = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(squared_distances(X), direct, atol=1e-12)


@pytest.mark.parametrize("perplexity", [2.0, 5.0, 30.0, 80.0])
@pytest.mark.parametrize("clustered", [False, True])
def test_calibrated_rows_have_the_target_perplexity(perplexity, clustered):
    rng = np.random.default_rng(1)
    X = clusters(40, 20, rng)[0] if clustered else rng.normal(size=(160, 20)) * 3.0
    P, beta = conditional_probabilities(squared_distances(X), perplexity)
    assert np.all(np.diag(P) == 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    safe = np.where(P > 0, P, 1.0)
    perp = np.exp(-np.sum(P * np.log(safe), axis=1))             # e^{H in nats} per row
    assert np.max(np.abs(perp - perplexity)) < 1e-3, np.max(np.abs(perp - perplexity))
    assert np.all(beta > 0)


def test_joint_probabilities_symmetric_and_normalised():
    rng = np.random.default_rng(2)
    P = joint_probabilities(rng.normal(size=(50, 5)), 10.0)
    np.testing.assert_allclose(P, P.T, atol=0)
    assert P.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(P.sum(axis=1) >= 1 / (2 * 50) - 1e-15)     # every point keeps >= 1/(2N)


@pytest.mark.parametrize("seed", range(5))
def test_kl_gradient_equals_finite_differences(seed):
    rng = np.random.default_rng(seed)
    N, d = 7, 2
    A = rng.random((N, N))
    P = A + A.T
    np.fill_diagonal(P, 0.0)
    P /= P.sum()
    Y = rng.normal(size=(N, d))
    cost, grad = kl_gradient(P, Y)
    assert cost == pytest.approx(kl_divergence(P, Y), abs=1e-14)
    h = 1e-6
    numeric = np.zeros_like(Y)
    for i in range(N):
        for k in range(d):
            Yp, Ym = Y.copy(), Y.copy()
            Yp[i, k] += h
            Ym[i, k] -= h
            numeric[i, k] = (kl_divergence(P, Yp) - kl_divergence(P, Ym)) / (2 * h)
    rel = np.abs(grad - numeric).max() / np.abs(numeric).max()
    assert rel < 1e-7, f"relative error {rel:.2e}"


@pytest.mark.parametrize("N, d, scale", [(3, 1, 1.0), (10, 2, 1.0), (57, 2, 12.0), (33, 3, 4.0)])
def test_numba_gradient_equals_numpy_reference(N, d, scale):
    rng = np.random.default_rng(N)
    P = joint_probabilities(rng.normal(size=(N, 4)), min(5.0, (N - 1) / 2))
    Y = rng.normal(size=(N, d))
    _, ref = kl_gradient(scale * P, Y)            # the exaggerated P in the same formula
    fast = _kl_gradient_numba(P, Y, scale)
    np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())


def test_separates_four_gaussian_clusters_in_50d():
    rng = np.random.default_rng(3)
    X, labels = clusters(50, 50, rng)
    Y = tsne(X, perplexity=20.0, n_iter=500, seed=0)
    assert Y.shape == (200, 2) and Y.dtype == np.float64
    acc_in, acc_2d = knn_accuracy(X, labels), knn_accuracy(Y, labels)
    assert acc_2d > 0.95, f"5-NN accuracy in 2-D {acc_2d:.3f} (input space {acc_in:.3f})"
    assert abs(acc_2d - acc_in) <= 0.05
    # the embedding's KL is far below that of the random start
    P = joint_probabilities(X, 20.0)
    assert kl_divergence(P, Y) < 0.5 * kl_divergence(P, rng.normal(scale=1e-2, size=Y.shape))


def test_seeded_output_is_identical():
    rng = np.random.default_rng(4)
    X, _ = clusters(15, 10, rng)
    a = tsne(X, perplexity=10.0, n_iter=200, seed=7)
    b = tsne(X, perplexity=10.0, n_iter=200, seed=7)
    c = tsne(X, perplexity=10.0, n_iter=200, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_bad_perplexity_says_what_works():
    with pytest.raises(ParameterError, match=r"perplexity=30.0 with N=10.*try 3"):
        tsne(np.random.default_rng(0).normal(size=(10, 3)))


def test_bad_shape():
    with pytest.raises(ParameterError, match=r"\(N, F\)"):
        tsne(np.zeros(10))


def test_bad_nan():
    X = np.ones((10, 3))
    X[2, 1] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        tsne(X, perplexity=3.0)


def test_bad_n_iter():
    with pytest.raises(ParameterError, match="n_iter=0"):
        tsne(np.random.default_rng(0).normal(size=(10, 3)), perplexity=3.0, n_iter=0)


def test_bad_learning_rate():
    with pytest.raises(ParameterError, match="learning_rate"):
        tsne(np.random.default_rng(0).normal(size=(10, 3)), perplexity=3.0, learning_rate=-1.0)


def test_bad_too_few_points():
    with pytest.raises(ParameterError, match="at least 3"):
        tsne(np.zeros((2, 3)), perplexity=0.5)
