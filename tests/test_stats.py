"""The Wilcoxon signed-rank test against hand cases, brute-force enumeration and scipy.stats.wilcoxon."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.stats

from numser import ParameterError
from numser.stats import (WilcoxonResult, holm, minimum_p_value, signflip_distribution,
                          wilcoxon, wilcoxon_null_distribution)

ALTERNATIVES = ("two-sided", "less", "greater")
ZERO_METHODS = ("wilcox", "pratt", "zsplit")
SCIPY_NAME = {"exact": "exact", "approx": "asymptotic", "auto": "auto"}


def make_differences(seed):
    """A random paired-difference vector: continuous, rounded (ties) or rounded with zeros."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 201))
    kind = ("continuous", "ties", "ties+zeros")[seed % 3]
    d = rng.normal(0.4 * rng.normal(), 1.0, n)
    if kind != "continuous":
        d = np.round(d, 1)
    if kind == "ties+zeros":
        d[rng.random(n) < 0.15] = 0.0
    return d, kind


def assert_same(ours, theirs, label):
    for name, a, b in (("statistic", ours.statistic, theirs.statistic),
                       ("pvalue", ours.pvalue, theirs.pvalue)):
        if np.isnan(b):
            assert np.isnan(a), f"{label}: {name} {a} but SciPy gives NaN"
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=0, err_msg=f"{label}: {name}")


# --- against SciPy -----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(240))
def test_explicit_methods_match_scipy(seed):
    d, kind = make_differences(seed)
    correction = bool(seed % 2)
    for alternative, zero_method, method in itertools.product(ALTERNATIVES, ZERO_METHODS,
                                                              ("exact", "approx")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # 'exact' with ties/zeros warns (conservative p)
            ours = wilcoxon(d, alternative=alternative, method=method, zero_method=zero_method,
                            correction=correction)
        theirs = scipy.stats.wilcoxon(d, alternative=alternative, method=SCIPY_NAME[method],
                                      zero_method=zero_method, correction=correction)
        assert ours.method == method
        assert_same(ours, theirs, f"seed {seed} n={d.size} {kind} {alternative} {zero_method} "
                                  f"{method} correction={correction}")


@pytest.mark.parametrize("seed", range(120))
def test_x_y_pairs_match_scipy(seed):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(5, 120))
    x = np.round(rng.uniform(0.2, 0.7, n), 2)         # UA-like values with ties and zeros
    y = np.round(x + rng.normal(0.01, 0.03, n), 2)
    alternative = ALTERNATIVES[seed % 3]
    for method in ("exact", "approx"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = wilcoxon(x, y, alternative=alternative, method=method)
        theirs = scipy.stats.wilcoxon(x, y, alternative=alternative, method=SCIPY_NAME[method])
        assert_same(ours, theirs, f"seed {seed} n={n} {alternative} {method}")


@pytest.mark.parametrize("seed", range(150))
def test_auto_matches_scipy_auto(seed):
    d, kind = make_differences(seed)
    if seed % 5 == 0:
        d = d[: 5 + seed % 6]      # n <= 10: SciPy's permutation branch (11–13: test below)
    for alternative in ALTERNATIVES:
        ours = wilcoxon(d, alternative=alternative)
        has_ties = np.unique(np.abs(d[d != 0])).size < np.sum(d != 0)
        if not has_ties and not np.any(d == 0):
            assert ours.method == ("exact" if d.size <= 50 else "approx")
        else:
            assert ours.method == ("signflip" if d.size <= 13 else "approx")
        theirs = scipy.stats.wilcoxon(d, alternative=alternative, method="auto")
        assert_same(ours, theirs, f"seed {seed} n={d.size} {kind} {alternative} auto")


def small_tied_differences(n, seed):
    """n fold-like differences with ties and (for odd seeds) zeros, rounded to .01."""
    rng = np.random.default_rng(seed)
    d = np.round(rng.normal(0.02, 0.03, n), 2)
    d[rng.integers(0, n)] = d[rng.integers(0, n)]      # at least one tie when n >= 2
    if seed % 2:
        d[rng.integers(0, n)] = 0.0
    return d


@pytest.mark.parametrize("n", range(1, 14))
def test_ties_and_zeros_up_to_13_pairs_equal_scipy_to_1e12(n):
    # SciPy's permutation test takes seconds at n = 13 (2^13 patterns): every alternative and
    # zero method up to n = 10, two cases (with a zero) above
    combos = list(itertools.product(ALTERNATIVES, ZERO_METHODS)) if n <= 10 else \
        [("two-sided", "wilcox"), ("less", "pratt")]
    for seed in (range(2) if n <= 10 else (1,)):
        d = small_tied_differences(n, 100 * n + seed)
        for alternative, zero_method in combos:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")         # all-zero d warns
                ours = wilcoxon(d, alternative=alternative, zero_method=zero_method)
            if n == 1 and d[0] == 0:             # SciPy's permutation test needs 2 pairs
                assert ours.pvalue == 1.0 and ours.method == "signflip"
                continue
            theirs = scipy.stats.wilcoxon(d, alternative=alternative, zero_method=zero_method)
            label = f"n={n} seed={seed} d={d.tolist()} {alternative} {zero_method}"
            assert abs(ours.pvalue - theirs.pvalue) <= 1e-12, label
            assert abs(ours.statistic - theirs.statistic) <= 1e-12, label
            has_ties_or_zeros = np.unique(np.abs(d)).size < n or np.any(d == 0)
            assert ours.method == ("signflip" if has_ties_or_zeros else "exact"), label


def test_five_positive_fold_differences_give_0625_whatever_the_ties():
    for d in ([.1, .2, .3, .4, .5], [.1, .1, .3, .4, .5], [.1, .1, .1, .1, .1],
              [.02, .05, .05, .09, .09]):
        assert wilcoxon(d).pvalue == 0.0625, d
    # one tie among A − B fold UAs, as in the issue: the normal approximation gave .042
    a, b = [0.48, 0.50, 0.47, 0.52, 0.49], [0.38, 0.40, 0.38, 0.37, 0.38]
    assert wilcoxon(a, b).pvalue == 0.0625 and wilcoxon(a, b).method == "signflip"


def test_signflip_distribution_equals_enumeration_with_ties():
    ranks = np.array([1.5, 1.5, 3.0, 4.5, 4.5, 6.0])
    counts = signflip_distribution(ranks)
    brute = np.zeros_like(counts)
    for signs in itertools.product((0, 1), repeat=ranks.size):
        brute[int(round(2 * np.dot(signs, ranks)))] += 1
    np.testing.assert_array_equal(counts, brute)
    # without ties it is the counted null of ranks 1..n
    np.testing.assert_array_equal(signflip_distribution(np.arange(1.0, 8.0))[::2] / 2 ** 7,
                                  wilcoxon_null_distribution(7))


def test_explicit_signflip_beyond_13_pairs_is_the_exact_permutation_p():
    d = small_tied_differences(16, 7)
    ours = wilcoxon(d, method="signflip")
    # 2^16 sign patterns of the signed ranks, counted by brute force
    nz = d[d != 0]
    ranks = scipy.stats.rankdata(np.abs(nz))
    observed = ranks[nz > 0].sum()
    patterns = np.array(list(itertools.product((0, 1), repeat=nz.size)), dtype=np.float64)
    null = patterns @ ranks
    p = min(1.0, 2 * min(np.mean(null <= observed), np.mean(null >= observed)))
    assert ours.method == "signflip" and ours.pvalue == pytest.approx(p, abs=1e-15)


# --- exact null distribution -----------------------------------------------------------------
@pytest.mark.parametrize("n", range(0, 13))
def test_null_distribution_equals_enumeration_of_sign_patterns(n):
    counts = np.zeros(n * (n + 1) // 2 + 1)
    for signs in itertools.product((0, 1), repeat=n):
        counts[sum(r for r, s in zip(range(1, n + 1), signs) if s)] += 1
    pmf = wilcoxon_null_distribution(n)
    np.testing.assert_array_equal(pmf * 2 ** n, counts)     # exact binary fractions
    np.testing.assert_array_equal(pmf, pmf[::-1])            # symmetric about n(n+1)/4


def test_null_distribution_large_n_is_a_distribution_with_the_normal_moments():
    n = 200
    pmf = wilcoxon_null_distribution(n)
    s = np.arange(pmf.size)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert (pmf * s).sum() == pytest.approx(n * (n + 1) / 4, rel=1e-12)
    var = (pmf * (s - n * (n + 1) / 4) ** 2).sum()
    assert var == pytest.approx(n * (n + 1) * (2 * n + 1) / 24, rel=1e-10)


def test_hand_case_exact():
    # ranks 1..5, signs + - + + + : R+ = 13, R- = 2; P(R+ <= 2) = #{∅, {1}, {2}} / 32
    stat, p = wilcoxon([1.0, -2.0, 3.0, 4.0, 5.0])
    assert stat == 2.0
    assert p == pytest.approx(2 * 3 / 32, abs=1e-15)
    res = wilcoxon([1.0, -2.0, 3.0, 4.0, 5.0], alternative="greater")
    assert res.statistic == 13.0
    assert res.pvalue == pytest.approx(3 / 32, abs=1e-15)


def test_five_pairs_never_reach_alpha_01():
    assert minimum_p_value(5) == 2 / 32 == 0.0625
    assert minimum_p_value(5, "greater") == 1 / 32
    # every one of the 32 sign patterns of 5 untied differences, through the test itself
    p_values = [wilcoxon(np.array(signs) * np.arange(1.0, 6.0)).pvalue
                for signs in itertools.product((-1, 1), repeat=5)]
    assert min(p_values) == 0.0625
    assert minimum_p_value(7) > 0.01 > minimum_p_value(8)


def test_fold_ua_example_cannot_be_significant():
    a = [0.48, 0.50, 0.47, 0.52, 0.49]
    b = [0.38, 0.38, 0.38, 0.37, 0.38]                 # A better on every fold, by far
    res = wilcoxon(a, b)
    assert res.method == "exact" and res.n == 5
    assert res.pvalue == 0.0625


# --- result object and zero handling -------------------------------------------------------------
def test_result_unpacks_and_carries_method_n_nzero():
    d = np.array([0.0, 0.0, 1.5, -0.5, 2.5, 3.5, -4.5, 5.5])
    res = wilcoxon(d)
    assert isinstance(res, WilcoxonResult)
    stat, p = res
    assert (stat, p) == (res.statistic, res.pvalue) == (res[0], res[1])
    assert res.n_zero == 2 and res.n == 6 and res.method == "signflip"      # zeros, 8 pairs
    assert wilcoxon(d, zero_method="pratt").n == 8
    assert wilcoxon(d, zero_method="zsplit").n == 8


def test_zsplit_puts_half_the_zero_ranks_on_each_side():
    # |d| ranks: 0 -> 1, 1 -> 2, 2 -> 3, 3 -> 4 ; R+ = 2 + 4 + ½, R- = 3 + ½
    res = wilcoxon([0.0, 1.0, -2.0, 3.0], zero_method="zsplit", method="approx",
                   alternative="greater")
    assert res.statistic == 6.5


def test_x_minus_y_equals_differences():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=30), rng.normal(size=30)
    assert tuple(wilcoxon(x, y)) == tuple(wilcoxon(x - y))


def test_exact_with_ties_warns():
    with pytest.warns(UserWarning, match="conservative"):
        wilcoxon([1.0, 1.0, -2.0, 3.0, 4.0], method="exact")


def test_all_zero_differences_warn_and_give_nan_approx():
    with pytest.warns(UserWarning, match="all 6 differences are zero"):
        res = wilcoxon(np.zeros(6), method="approx")
    assert np.isnan(res.pvalue) and res.n == 0


# --- bad input, one test each ------------------------------------------------------------------
def test_bad_alternative_lists_allowed():
    with pytest.raises(ParameterError, match="two-sided.*less.*greater"):
        wilcoxon([1.0, 2.0, 3.0], alternative="bigger")


def test_bad_method_lists_allowed():
    with pytest.raises(ParameterError, match="auto.*exact.*approx"):
        wilcoxon([1.0, 2.0, 3.0], method="permutation")


def test_bad_zero_method_lists_allowed():
    with pytest.raises(ParameterError, match="wilcox.*pratt.*zsplit"):
        wilcoxon([1.0, 2.0, 3.0], zero_method="drop")


def test_bad_correction():
    with pytest.raises(ParameterError, match="True, False"):
        wilcoxon([1.0, 2.0, 3.0], correction="yes")


def test_bad_unequal_lengths():
    with pytest.raises(ParameterError, match="one y for every x"):
        wilcoxon([1.0, 2.0, 3.0], [1.0, 2.0])


def test_bad_empty():
    with pytest.raises(ParameterError, match="at least one pair"):
        wilcoxon([])


def test_bad_nan():
    with pytest.raises(ParameterError, match="NaN"):
        wilcoxon([1.0, np.nan, 3.0])


def test_bad_2d():
    with pytest.raises(ParameterError, match="shape"):
        wilcoxon(np.ones((3, 2)))


def test_bad_minimum_p_value_n():
    with pytest.raises(ParameterError, match="n=0"):
        minimum_p_value(0)


def test_bad_minimum_p_value_alternative():
    with pytest.raises(ParameterError, match="two-sided"):
        minimum_p_value(5, "both")


# --- Holm's adjustment ---------------------------------------------------------------------------

def holm_rejects(pvalues, alpha):
    """Holm's procedure as Holm (1979) states it: test the sorted p-values in turn, p_(k) against
    alpha / (m - k + 1), and reject until the first that fails (multiplied out, as holm rounds)."""
    m, rejected = len(pvalues), set()
    for k, i in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        if (m - k) * pvalues[i] > alpha:
            break
        rejected.add(i)
    return rejected


def test_holm_by_hand():
    np.testing.assert_allclose(holm([0.01, 0.02, 0.03, 0.04, 0.05]),
                               [0.05, 0.08, 0.09, 0.09, 0.09])
    np.testing.assert_allclose(holm([0.5, 0.001, 0.3]), [0.6, 0.003, 0.6])
    assert holm([]).shape == (0,) and holm([0.2]).tolist() == [0.2]


def test_holm_rejects_what_the_step_down_procedure_rejects():
    hypothesis = pytest.importorskip("hypothesis", reason="the property test uses hypothesis")
    st = hypothesis.strategies
    p_value = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.001, 0.0025, 0.005, 0.01, 1.0]))

    @hypothesis.settings(max_examples=500, deadline=None, derandomize=True, database=None)
    @hypothesis.given(st.lists(p_value, max_size=40), st.sampled_from([0.001, 0.01, 0.05]))
    def check(pvalues, alpha):
        adjusted = holm(pvalues)
        assert np.all(adjusted >= np.asarray(pvalues)) and np.all(adjusted <= 1)
        assert {i for i, q in enumerate(adjusted) if q <= alpha} == holm_rejects(pvalues, alpha)
    check()


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [1.5], [-0.1], [[0.1, 0.2]]])
def test_holm_refuses_what_is_not_p_values(bad):
    with pytest.raises(ParameterError, match="numbers in \\[0, 1\\]"):
        holm(bad)

