"""The Wilcoxon signed-rank paired test (exact and normal approximation) of docs/spec.md §6, paper
Section 5, and Holm's adjustment of the p-values of a family of such tests.

The structure follows ``scipy/stats/_wilcoxon.py`` (SciPy 1.17): input validation, the statistic
and the p-value are separate functions, and :func:`wilcoxon` only chooses the method and glues them.
"""
import functools
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from numser.errors import ParameterError

ALTERNATIVES = ("two-sided", "less", "greater")
METHODS = ("auto", "exact", "signflip", "approx")
ZERO_METHODS = ("wilcox", "pratt", "zsplit")

#: Largest number of pairs for which ``method='auto'`` uses the exact null distribution (SciPy's).
EXACT_MAX_N = 50
#: Largest number of pairs (zeros included, as SciPy counts them) for which ``method='auto'``
#: uses the exact sign-flip distribution when there are ties or zeros (SciPy's: 2^13 patterns
#: are fewer than its permutation test's 9 999 resamples, so its test is exact there).
SIGNFLIP_MAX_N = 13


@dataclass(frozen=True)
class WilcoxonResult:
    """The result of :func:`wilcoxon`; unpacks as ``statistic, pvalue = result`` like SciPy's.

    Attributes
    ----------
    statistic : float
        ``min(R+, R-)`` for ``alternative='two-sided'``, ``R+`` otherwise (as SciPy).
    pvalue : float
    method : {'exact', 'signflip', 'approx'}
        The null distribution actually used: the counted null of untied ranks 1..n, the exact
        sign-flip distribution of the observed (tied) signed ranks, or the normal approximation.
    n : int
        Pairs that entered the ranking: all pairs, or the non-zero ones for ``zero_method='wilcox'``.
    n_zero : int
        Pairs whose difference is exactly 0.
    alternative : str
    zstatistic : float
        The standardised ``R+`` of the normal approximation (after the continuity correction);
        NaN when ``method == 'exact'``. Negative ``|z|`` for two-sided tests, as SciPy.
    """

    statistic: float
    pvalue: float
    method: str
    n: int
    n_zero: int
    alternative: str = "two-sided"
    zstatistic: float = float("nan")

    def __iter__(self):
        return iter((self.statistic, self.pvalue))

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return (self.statistic, self.pvalue)[i]


# ---------------------------------------------------------------------------------------------
# 1. validation
# ---------------------------------------------------------------------------------------------
def _wilcoxon_iv(x, y, alternative, method, zero_method, correction):
    """Validate the arguments; return the differences d (n,) float64 and normalised options."""
    x = np.asarray(x)
    if y is None:
        d = x
        what = "x"
    else:
        y = np.asarray(y)
        if x.shape != y.shape:
            raise ParameterError(f"x has shape {x.shape} but y has shape {y.shape}: a paired test "
                                 "needs one y for every x")
        what = "x - y"
        if not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
            raise ParameterError(f"x ({x.dtype}) and y ({y.dtype}) must be real numbers")
        d = x.astype(np.float64) - y.astype(np.float64)
    if not np.issubdtype(d.dtype, np.number) or np.issubdtype(d.dtype, np.complexfloating):
        raise ParameterError(f"{what} has dtype {d.dtype}: must be real numbers")
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1:
        raise ParameterError(f"{what} has shape {d.shape}: expected one vector of paired "
                             "differences (n,)")
    if d.size == 0:
        raise ParameterError(f"{what} is empty: the test needs at least one pair")
    if not np.all(np.isfinite(d)):
        raise ParameterError(f"{what} contains {int(np.sum(~np.isfinite(d)))} NaN/inf values: "
                             "drop those pairs before testing")
    alternative = str(alternative).lower()
    if alternative not in ALTERNATIVES:
        raise ParameterError(f"alternative={alternative!r}: must be one of {ALTERNATIVES}")
    method = str(method).lower()
    if method == "asymptotic":          # SciPy's name for the normal approximation
        method = "approx"
    if method not in METHODS:
        raise ParameterError(f"method={method!r}: must be one of {METHODS} "
                             "('asymptotic' is accepted as SciPy's name for 'approx')")
    zero_method = str(zero_method).lower()
    if zero_method not in ZERO_METHODS:
        raise ParameterError(f"zero_method={zero_method!r}: must be one of {ZERO_METHODS}")
    if not isinstance(correction, (bool, np.bool_)):
        raise ParameterError(f"correction={correction!r}: must be one of (True, False)")
    return d, alternative, method, zero_method, bool(correction)


# ---------------------------------------------------------------------------------------------
# 2. the statistic
# ---------------------------------------------------------------------------------------------
def _average_ranks(a):
    """Ranks 1..n of ``a`` (n,), ties sharing their mean rank; also the size of every tie group.

    Returns ``ranks`` (n,) float64 and ``group_sizes`` (G,) int64 in ascending order of value.
    """
    order = np.argsort(a, kind="stable")
    s = a[order]
    first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])       # (G,) start of each group in s
    sizes = np.diff(np.r_[first, a.size])                        # (G,)
    group_rank = first + 1 + (sizes - 1) / 2.0                   # mean of ranks first+1..first+size
    ranks = np.empty(a.size)
    ranks[order] = np.repeat(group_rank, sizes)
    return ranks, sizes


def _wilcoxon_statistic(d, zero_method):
    """Rank sums of the positive and negative differences, and what the null distributions need.

    Equation
    --------
    ``R+ = Σ_{i: d_i > 0} rank(|d_i|)``, ``R- = Σ_{i: d_i < 0} rank(|d_i|)``, ranks 1..n with
    ties averaged.

    Zero handling (which pairs are ranked, and where the zeros' ranks go):
    - ``'wilcox'``: zeros are dropped before ranking; n counts the non-zero pairs only.
    - ``'pratt'``: zeros are ranked with the rest (so they take the smallest ranks) but their
      ranks go to neither sum; the normal moments are corrected for them (Cureton 1967).
    - ``'zsplit'``: zeros are ranked and half of their rank sum goes to R+, half to R-.

    Parameters
    ----------
    d : ndarray of float64, shape (n_pairs,)
    zero_method : {'wilcox', 'pratt', 'zsplit'}

    Returns
    -------
    r_plus, r_minus : float
    n : int
        Ranked pairs.
    n_zero : int
        Zero differences.
    tie_sizes : ndarray of int64, shape (G,)
        Sizes of the tie groups that enter the variance correction (Pratt's zero group removed).
    has_ties : bool
        Whether two ranked non-zero |d| (or, for 'pratt'/'zsplit', two zeros) are equal.
    """
    zero = d == 0
    n_zero = int(np.sum(zero))
    if zero_method == "wilcox":
        d = d[~zero]
        zero = zero[~zero]
    ranks, tie_sizes = _average_ranks(np.abs(d))
    r_plus = float(np.sum(ranks[d > 0]))
    r_minus = float(np.sum(ranks[d < 0]))
    has_ties = bool(np.any(tie_sizes > 1))
    if zero_method == "zsplit":
        half = float(np.sum(ranks[zero])) / 2.0
        r_plus += half
        r_minus += half
    if zero_method == "pratt" and n_zero > 0:
        tie_sizes = tie_sizes[1:]           # the zeros are the first (smallest) group
    return r_plus, r_minus, int(d.size), n_zero, tie_sizes, has_ties


def _normal_moments(n, n_zero, tie_sizes, zero_method):
    """Mean and standard deviation of R+ under H0, with the tie (and Pratt zero) corrections.

    Equation
    --------
    ``E[R+] = n(n+1)/4``, ``Var[R+] = [n(n+1)(2n+1) - ½ Σ_g (t_g³ - t_g)] / 24``, t_g the size
    of tie group g (every member of a group carries the group's mean rank, which lowers the
    variance). For ``'pratt'`` the zeros' ranks 1..n_zero are never signed, so their share is
    removed: ``E -= z(z+1)/4``, ``24 Var -= z(z+1)(2z+1)`` with z = n_zero.
    """
    mean = n * (n + 1.0) * 0.25
    var24 = n * (n + 1.0) * (2.0 * n + 1.0)
    if zero_method == "pratt":
        mean -= n_zero * (n_zero + 1.0) * 0.25
        var24 -= n_zero * (n_zero + 1.0) * (2.0 * n_zero + 1.0)
    t = tie_sizes.astype(np.float64)
    var24 -= np.sum(t ** 3 - t) / 2.0
    return mean, float(np.sqrt(var24 / 24.0))


# ---------------------------------------------------------------------------------------------
# 3. p-values
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _null_pmf(n):
    pmf = np.ones(1)
    for k in range(1, n + 1):
        # Counting: every sign pattern of ranks 1..k-1 either leaves rank k out (sum s) or adds it
        # (sum s + k), so c_k(s) = c_{k-1}(s) + c_{k-1}(s - k). Stored as c_k / 2^k (halving at each
        # step) so nothing overflows; the values are exact binary fractions while c_k < 2^53.
        new = np.zeros(k * (k + 1) // 2 + 1)
        new[:pmf.size] += 0.5 * pmf
        new[k:] += 0.5 * pmf
        pmf = new
    pmf.setflags(write=False)
    return pmf


def wilcoxon_null_distribution(n):
    """Exact null distribution of R+ for n untied, non-zero pairs, by counting sign patterns.

    Equation
    --------
    Under H0 each rank r = 1..n is positive with probability ½, independently, so
    ``P(R+ = s) = c_n(s) / 2^n`` with ``c_n(s)`` the number of subsets of {1..n} summing to s:
    ``c_0(0) = 1``, ``c_k(s) = c_{k-1}(s) + c_{k-1}(s - k)``.

    Parameters
    ----------
    n : int >= 0

    Returns
    -------
    pmf : ndarray of float64, shape (n(n+1)/2 + 1,)
        ``pmf[s] = P(R+ = s)``, read-only (cached).

    Raises
    ------
    ParameterError
        n not an integer >= 0.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ParameterError(f"n={n!r}: must be an integer >= 0 (the number of pairs)")
    return _null_pmf(int(n))


def _exact_cdf(k, pmf, mean):
    """P(R+ <= k), summed over the shorter tail (as SciPy, so both agree to the last bit)."""
    return float(pmf[:k + 1].sum()) if k <= mean else 1.0 - float(pmf[k + 1:].sum())


def _exact_sf(k, pmf, mean):
    """P(R+ >= k)."""
    return float(pmf[k:].sum()) if k <= mean else 1.0 - float(pmf[:k].sum())


def _exact_pvalue(r_plus, n, alternative):
    """p-value of R+ under the exact null of n pairs.

    With ties or zeros R+ may be a half-integer that the null (defined on integers) lacks: round
    it up for the lower tail and down for the upper tail, which is conservative and symmetric
    (SciPy gh-19872).
    """
    pmf = wilcoxon_null_distribution(n)
    mean = n * (n + 1) / 4.0
    lower = _exact_cdf(int(np.ceil(r_plus)), pmf, mean)
    upper = _exact_sf(int(np.floor(r_plus)), pmf, mean)
    if alternative == "less":
        return lower
    if alternative == "greater":
        return upper
    return float(np.clip(2.0 * min(lower, upper), 0.0, 1.0))


def _signflip_ranks(d, zero_method):
    """The ranks whose signs flip under H0 (those of the non-zero differences), and R+'s constant.

    'wilcox' ranks the non-zero |d| only; 'pratt' and 'zsplit' rank all |d| (zeros take the
    smallest ranks). A zero's sign cannot flip: under 'zsplit' half its rank is in R+ whatever
    the pattern (the constant), under the other two it is in neither sum.
    """
    zero = d == 0
    if zero_method == "wilcox":
        return _average_ranks(np.abs(d[~zero]))[0], 0.0
    ranks = _average_ranks(np.abs(d))[0]
    return ranks[~zero], (float(np.sum(ranks[zero])) / 2.0 if zero_method == "zsplit" else 0.0)


def signflip_distribution(ranks):
    """Exact distribution of ``Σ_i s_i r_i`` over the 2^m sign patterns s ∈ {0, 1}^m of m ranks.

    Equation
    --------
    Ranks with ties are multiples of ½, so ``w_i = 2 r_i`` are integers and the counts
    ``c(t) = #{s : Σ s_i w_i = t}`` follow the subset-sum recursion
    ``c_k(t) = c_{k-1}(t) + c_{k-1}(t - w_k)``, ``c_0(0) = 1``; the value ``t / 2`` has
    probability ``c_m(t) / 2^m``. Without ties (r = 1..m) this is
    :func:`wilcoxon_null_distribution`.

    Parameters
    ----------
    ranks : array_like of float, shape (m,)
        Positive multiples of ½ (average ranks).

    Returns
    -------
    counts : ndarray of float64, shape (Σ w_i + 1,)
        ``counts[t] = c_m(t)``, exact integers while 2^m < 2^53.

    Raises
    ------
    ParameterError
        A rank that is not a positive multiple of ½.
    """
    w2 = 2.0 * np.asarray(ranks, dtype=np.float64)
    w = np.rint(w2).astype(np.int64)
    if np.any(w < 1) or np.any(w != w2):
        raise ParameterError("ranks must be positive multiples of 1/2 (average ranks)")
    counts = np.zeros(int(w.sum()) + 1)
    counts[0] = 1.0
    top = 0
    for wk in w:                     # add rank k: every pattern with or without it
        counts[wk:top + wk + 1] += counts[:top + 1].copy()
        top += wk
    return counts


def _signflip_pvalue(d, r_plus, zero_method, alternative):
    """p-value of R+ under the exact sign-flip distribution of the observed signed ranks.

    What SciPy 1.17's ``permutation_test`` computes for ``method='auto'`` with ties or zeros
    and n <= 13: ``P(R+* <= R+)`` ('less'), ``P(R+* >= R+)`` ('greater'), twice the smaller
    ('two-sided', at most 1), R+* over all 2^n sign patterns. Exact for any n.
    """
    ranks, constant = _signflip_ranks(d, zero_method)
    counts = signflip_distribution(ranks)
    total = 2.0 ** ranks.size
    t = int(np.rint(2.0 * (r_plus - constant)))            # observed R+ in half-rank units
    lower = float(counts[:t + 1].sum()) / total
    upper = float(counts[t:].sum()) / total
    if alternative == "less":
        return lower
    if alternative == "greater":
        return upper
    return float(np.clip(2.0 * min(lower, upper), 0.0, 1.0))


def _approx_pvalue(r_plus, mean, sd, alternative, correction):
    """p-value of R+ from the normal approximation; returns (p, z).

    Equation
    --------
    ``z = (R+ - E[R+] - c) / sd`` with the continuity correction ``c = ½·sign`` (sign = +1 for
    'greater', -1 for 'less', sign(R+ - E) for 'two-sided') when ``correction`` else c = 0;
    ``p = Φ(z)`` ('less'), ``1 - Φ(z)`` ('greater'), ``2 (1 - Φ(|z|))`` ('two-sided').
    """
    if sd == 0:                          # nothing was signed: no evidence either way
        return float("nan"), float("nan")
    z = (r_plus - mean) / sd
    if correction:
        sign = {"greater": 1.0, "less": -1.0}.get(alternative, float(np.sign(z)))
        z -= sign * 0.5 / sd
    if alternative == "less":
        p = ndtr(z)
    elif alternative == "greater":
        p = ndtr(-z)
    else:
        p = 2.0 * ndtr(-abs(z))
    return float(p), float(z)


def minimum_p_value(n, alternative="two-sided"):
    """The smallest p-value the exact test can give with n pairs (all differences of one sign).

    Equation
    --------
    One-sided: ``P(R+ = n(n+1)/2) = 1 / 2^n``; two-sided: ``min(1, 2 / 2^n)``.
    For n = 5 two-sided this is 2/32 = .0625 > .01.

    Parameters
    ----------
    n : int >= 1
        Pairs (untied, non-zero).
    alternative : {'two-sided', 'less', 'greater'}

    Returns
    -------
    p : float

    Raises
    ------
    ParameterError
        n not an integer >= 1, or an unknown alternative.

    Notes
    -----
    docs/spec.md §6: 5 fold-level UAs can never reach α = .01 two-sided, whatever the gap between two
    methods; 8 pairs are the fewest that can (2/256 = .0078).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n={n!r}: must be an integer >= 1 (the number of pairs)")
    alternative = str(alternative).lower()
    if alternative not in ALTERNATIVES:
        raise ParameterError(f"alternative={alternative!r}: must be one of {ALTERNATIVES}")
    one_sided = 0.5 ** int(n)
    return one_sided if alternative != "two-sided" else min(1.0, 2.0 * one_sided)


# ---------------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------------
def wilcoxon(x, y=None, *, alternative="two-sided", method="auto", zero_method="wilcox",
             correction=False):
    """Wilcoxon signed-rank test that the paired differences x - y are symmetric about 0.

    Equation
    --------
    ``d_i = x_i - y_i`` (or ``x_i`` when y is None), i = 1..n. Rank ``|d_i|`` (ties averaged),
    ``R+ = Σ_{d_i>0} rank_i``, ``R- = Σ_{d_i<0} rank_i``; ``R+ + R- = n(n+1)/2`` without zeros.
    Under H0 (differences symmetric about 0) each rank's sign is a fair coin, which gives the
    exact distribution of R+ by counting (:func:`wilcoxon_null_distribution`), or for large n
    ``R+ ≈ N(n(n+1)/4, n(n+1)(2n+1)/24)`` with a tie correction (:func:`_normal_moments`).
    'greater' tests whether x tends to exceed y.

    Parameters
    ----------
    x : array_like of float, shape (n,)
        First member of each pair (e.g. method A's UA per fold or per speaker), or the differences.
    y : array_like of float, shape (n,), optional
        Second member of each pair.
    alternative : {'two-sided', 'less', 'greater'}
    method : {'auto', 'exact', 'signflip', 'approx'}
        'exact': the counted null distribution of untied ranks 1..n (exact only without ties and
        zeros; with them the statistic is rounded conservatively and a warning is raised).
        'signflip': the exact distribution of R+ over the 2^n sign patterns of the observed
        signed ranks, ties and zeros as they are (:func:`signflip_distribution`). 'approx': the
        normal approximation ('asymptotic', SciPy's name, is accepted). 'auto', as SciPy 1.17:
        'exact' when there are no ties and no zeros and at most 50 pairs; 'signflip' when there
        are ties or zeros and at most 13 pairs (zeros counted); 'approx' otherwise.
    zero_method : {'wilcox', 'pratt', 'zsplit'}
        How zero differences are treated; see :func:`_wilcoxon_statistic`.
    correction : bool
        Continuity correction of ½ in the normal approximation (default False, as SciPy).

    Returns
    -------
    result : WilcoxonResult
        ``statistic, pvalue = result``; also ``method``, ``n``, ``n_zero``, ``zstatistic``.

    Raises
    ------
    ParameterError
        x, y not real 1-D vectors of equal length, empty, non-finite, or an option not in its
        allowed values (the message lists them).

    Warns
    -----
    UserWarning
        ``method='exact'`` with ties or zeros (the p-value is then conservative, not exact); no
        non-zero difference at all (the p-value is undefined: NaN for 'approx').

    Notes
    -----
    Matches ``scipy.stats.wilcoxon`` 1.17 to rounding for ``method='exact'``, ``'asymptotic'``
    and ``'auto'``. With ties or zeros and n <= 13 SciPy's 'auto' runs a permutation test over
    the 2^n sign patterns, which is exact there; numser counts the same distribution
    (``result.method == 'signflip'``), so five positive fold differences give p = 2/32 = .0625
    whether or not two of them tie. Above 13 pairs with ties or zeros both use the normal
    approximation with the tie correction. As in SciPy, the 'auto' limits (13 and 50) count all
    pairs including zeros. SciPy lets NaNs propagate; numser refuses them.
    docs/spec.md §6: the paper tests two-sided at α = .01; with 5 folds see :func:`minimum_p_value`.
    """
    d, alternative, method, zero_method, correction = _wilcoxon_iv(
        x, y, alternative, method, zero_method, correction)
    r_plus, r_minus, n, n_zero, tie_sizes, has_ties = _wilcoxon_statistic(d, zero_method)

    # SciPy 1.17's choice: the counted null when it is really the null (no ties, no zeros) up to
    # 50 pairs; with ties or zeros the sign-flip distribution of the observed ranks up to 13 pairs
    # (its permutation test is exact there); the normal approximation beyond.
    if method == "auto":
        if not has_ties and n_zero == 0:
            method = "exact" if d.size <= EXACT_MAX_N else "approx"
        else:
            method = "signflip" if d.size <= SIGNFLIP_MAX_N else "approx"

    if n == 0 or (zero_method == "pratt" and n == n_zero):
        warnings.warn(f"all {d.size} differences are zero: the Wilcoxon test has nothing to rank "
                      "and its p-value is not meaningful", UserWarning, stacklevel=2)
    if method == "exact":
        if has_ties or n_zero:
            warnings.warn(f"method='exact' with {'ties' if has_ties else ''}"
                          f"{' and ' if has_ties and n_zero else ''}"
                          f"{f'{n_zero} zero differences' if n_zero else ''}: the null "
                          "distribution assumes neither, so the p-value is conservative, not "
                          "exact; use method='approx'", UserWarning, stacklevel=2)
        p, z = _exact_pvalue(r_plus, n, alternative), float("nan")
    elif method == "signflip":
        p, z = _signflip_pvalue(d, r_plus, zero_method, alternative), float("nan")
    else:
        mean, sd = _normal_moments(n, n_zero, tie_sizes, zero_method)
        p, z = _approx_pvalue(r_plus, mean, sd, alternative, correction)
        if alternative == "two-sided":
            z = -abs(z)
    # For backward compatibility SciPy reports min(R+, R-) for two-sided tests, R+ otherwise.
    statistic = min(r_plus, r_minus) if alternative == "two-sided" else r_plus
    return WilcoxonResult(statistic=float(statistic), pvalue=p, method=method, n=n, n_zero=n_zero,
                          alternative=alternative, zstatistic=z)


def holm(pvalues):
    """Holm's step-down adjustment of a family of m p-values (Holm 1979).

    Equation
    --------
    With the p-values sorted, p_(1) <= ... <= p_(m), the adjusted values are

        p~_(i) = max over j <= i of min(1, (m - j + 1) * p_(j)),

    returned in the input order. Rejecting every hypothesis whose p~ < alpha keeps the chance of
    one or more false rejections in the whole family at most alpha, whatever the dependence
    between the tests (Bonferroni's guarantee, with more power: only the smallest p is multiplied
    by m).

    Parameters
    ----------
    pvalues : sequence of float in [0, 1], shape (m,)

    Returns
    -------
    adjusted : ndarray of float, shape (m,), each >= its p-value and <= 1

    Raises
    ------
    ParameterError
        not a flat sequence of numbers in [0, 1].

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):         # NaN fails both comparisons
        raise ParameterError(f"pvalues: must be a flat sequence of numbers in [0, 1], "
                             f"got shape {p.shape} with values {p.ravel()[:5].tolist()}")
    order = np.argsort(p, kind="stable")
    m = len(p)
    # (m - j + 1) p_(j) for j = 1..m, made non-decreasing so that the order of the p-values stays
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out
