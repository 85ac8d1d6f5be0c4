r"""Unitary events of many unit pairs over many trials at once, vectorised (Grün et al. 2002).

For a pair of units :math:`(i, j)`, trials :math:`r = 1..R` and a sliding window :math:`w` of :math:`L_w` bins:

- **Binning** (Elephant's ``BinnedSpikeTrain``, binary): the spikes of a trial in ``[t_start, t_stop]`` go to
  bin :math:`b = \lfloor (t - t_\mathrm{start}) \cdot (1 / \Delta) \rfloor` of width :math:`\Delta` = ``bin_ms``,
  except that a spike within :math:`10^{-8}` bin of the next edge goes to the next bin (Elephant's rounding
  tolerance); the trial has :math:`N = \lfloor (t_\mathrm{stop} - t_\mathrm{start}) / \Delta \rceil` whole bins
  and a spike in bin :math:`N` (at ``t_stop``) is dropped. Binary: several spikes of a unit in one bin count once,
  :math:`x_{r,i,b} \in \{0, 1\}`.
- **Windows**: left edges :math:`t_\mathrm{start} + k\,s` for :math:`k = 0, 1, ..` as long as the edge is below
  :math:`t_\mathrm{stop} - W + s` (``numpy.arange``, as Elephant), ``W`` = ``win_ms``, ``s`` = ``winstep_ms``
  (both whole multiples of ``bin_ms``); window :math:`k` holds bins :math:`[k S, \min(k S + W/\Delta, N))`,
  :math:`S = s / \Delta`: a last window that runs past ``t_stop`` is cut at the last whole bin (Elephant's
  slice), and one that starts past it is empty (``n_exp``, ``p``, surprise NaN).
- **Empirical coincidences** (pattern ``[1, 1]``): :math:`n_\mathrm{emp} = \sum_r \sum_{b \in w} x_{r,i,b}
  x_{r,j,b}`, from one matrix product of the binned trains per bin and cumulative sums over bins.
- **Expected coincidences**, from the counts :math:`c_{r,i} = \sum_{b \in w} x_{r,i,b}`:

  * ``"analytic_TrialByTrial"``: :math:`n_\mathrm{exp} = \sum_r L_w \frac{c_{r,i}}{L_w} \frac{c_{r,j}}{L_w}`
    (the per-trial rates of each window);
  * ``"analytic_TrialAverage"``: :math:`n_\mathrm{exp} = R L_w \bar p_i \bar p_j` with
    :math:`\bar p_i = \sum_r c_{r,i} / (R L_w)` (the rates averaged over trials, Grün et al. 2003).

- **Null and p-value**: :math:`n_\mathrm{emp}` Poisson with mean :math:`n_\mathrm{exp}`,
  :math:`p = P(X \ge n_\mathrm{emp}) = ` ``scipy.special.gammainc(n_emp, n_exp)`` (``= scipy.stats.poisson.sf(
  n_emp - 1, n_exp)``); **joint surprise** :math:`S = \log_{10} ((1 - p) / p)`. The tail that can be small is
  computed directly (``gammainc`` where :math:`n_\mathrm{emp} > n_\mathrm{exp}`, else :math:`1 - p` =
  ``gammaincc``) and the other as 1 minus it, so both are exact to a few ulp relative. Edge cases as Elephant: no coincidence (:math:`n_\mathrm{emp} =
  0`) gives :math:`p = 1, S = -\infty`; a window where a unit is silent in every trial (:math:`n_\mathrm{emp} =
  n_\mathrm{exp} = 0`) gives :math:`p = S =` NaN (never significant).
- **Significance**: a (pair, window) is significant when :math:`p \le \alpha` (``significance``), i.e.
  :math:`S \ge \log_{10}((1 - \alpha)/\alpha)` as Elephant's plots mark it. **No multiple-comparison
  correction** over pairs or windows: with 190 pairs x 181 windows about :math:`\alpha` of the tests are
  significant under the null.

Equal to ``elephant.unitary_event_analysis.jointJ_window_analysis`` (1.2.1) run on each pair with
``t_start = 0`` (its float64 internals to ~1e-13; it returns ``n_emp``, ``n_exp``, ``Js`` rounded to float32),
tested in ``tests/analysis/test_unitary_events.py``. Differences, all documented:

- ``p`` here is ``gammainc``, Elephant's is ``1 - gammaincc``: equal to ~2e-16 absolute, so the surprise
  agrees to ~1e-12 where both tails exceed 1e-4; where a tail is below ~1e-16 Elephant rounds it to 0 (its
  ``p = 0``, ``S = inf``, or ``S`` off in the last digits near :math:`p \to 1`) and here it stays finite and exact.
- Elephant places window :math:`k` at bin :math:`\lfloor (t_\mathrm{start} + k s) / \Delta \rfloor` of a matrix
  that starts at ``t_start``, so with ``t_start != 0`` its windows are shifted by ``t_start`` (and run off the
  end); here window :math:`k` starts at bin :math:`k S` from ``t_start``, i.e. equal to Elephant on spikes shifted
  to ``t_start = 0``.
- Elephant floors ``win_size / bin_size``, ``win_step / bin_size`` and each window edge / ``bin_size``: bin sizes
  that binary floats do not hold exactly (0.1 ms) lose a bin there; here the ratios must be whole numbers (checked,
  rounded) and window edges are bins.
- ``"surrogate_TrialByTrial"`` (random spike-time shuffles) is not implemented.

Cost: one pass over the spikes, a dense binary array of ``n_bins x n_trials x n_units`` (bools) and, for all pairs,
one ``(n_units x n_trials) @ (n_trials x n_units)`` product per bin and per window (float32 / float64 BLAS, exact
for integer counts); memory grows as ``n_pairs x n_bins``.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ._common import as_record

__all__ = ["UE_METHODS", "UnitaryEvents", "unitary_event_analysis"]

#: Methods of the expected coincidence count, named as Elephant names them.
UE_METHODS = {
    "analytic_TrialByTrial": "n_exp = sum over trials of L * (c_i / L) * (c_j / L): each trial's rates in the window",
    "analytic_TrialAverage": "n_exp = R * L * p_i * p_j with p_i = (spikes of i in the window over all trials) / (R * L): "
                             "rates averaged over trials (Gruen et al. 2003)",
}

#: Elephant's tolerance for spikes on a bin edge (in bins): such a spike goes to the next bin.
_EDGE_TOL = 1e-8


@dataclass(frozen=True, eq=False)
class UnitaryEvents:
    """Unitary event analysis of unit pairs in sliding windows (see the module docstring).

    Attributes
    ----------
    pairs : ndarray of int64, shape (n_pairs, 2)
        Unit rows (of the record) of each pair.
    pair_names : ndarray of str, shape (n_pairs, 2)
    window_start_ms, window_centre_ms : ndarray of float64, shape (n_windows,)
        Left edge and centre (``start + win_ms / 2``) of each window, trial-relative ms.
    window_bins : ndarray of int64, shape (n_windows,)
        Bins in each window (``win_ms / bin_ms``, fewer for a last window cut at ``t_stop``).
    n_emp : ndarray of int64, shape (n_pairs, n_windows)
        Coincidences (bins where both units fire), summed over the trials.
    n_exp : ndarray of float64, shape (n_pairs, n_windows)
        Expected coincidences (``method``).
    p : ndarray of float64, shape (n_pairs, n_windows)
        Poisson ``P(X >= n_emp)`` with mean ``n_exp``; NaN where ``n_emp = n_exp = 0``.
    surprise : ndarray of float64, shape (n_pairs, n_windows)
        Joint surprise ``log10((1 - p) / p)`` (Elephant's ``Js``).
    significant : ndarray of bool, shape (n_pairs, n_windows)
        ``p <= significance`` (no multiple-comparison correction).
    rate_units : ndarray of int64
        Unit rows of ``rate_hz``.
    rate_hz : ndarray of float64, shape (len(rate_units), n_windows)
        Binary rate: occupied bins / (trials x bins x bin_ms), in Hz (Elephant's ``rate_avg``).
    trials : ndarray of int64
        Trial rows used.
    bin_ms, win_ms, winstep_ms, t_start_ms, t_stop_ms, significance : float
    method : str
    definition : str
        Which spikes count, the expectation, the null and the absence of a multiple-comparison correction.
    """

    pairs: np.ndarray
    pair_names: np.ndarray
    window_start_ms: np.ndarray
    window_centre_ms: np.ndarray
    window_bins: np.ndarray
    n_emp: np.ndarray
    n_exp: np.ndarray
    p: np.ndarray
    surprise: np.ndarray
    significant: np.ndarray
    rate_units: np.ndarray
    rate_hz: np.ndarray
    trials: np.ndarray
    bin_ms: float
    win_ms: float
    winstep_ms: float
    t_start_ms: float
    t_stop_ms: float
    method: str
    significance: float
    definition: str

    @property
    def n_pairs(self):
        return self.pairs.shape[0]

    @property
    def n_windows(self):
        return self.window_start_ms.shape[0]

    def significant_windows(self, pair):
        """Left edges (ms) of the significant windows of ``pair`` (its position in :attr:`pairs`)."""
        if not isinstance(pair, (int, np.integer)) or not -self.n_pairs <= pair < self.n_pairs:
            raise input_error("pair", f"an int position in [0, {self.n_pairs})", repr(pair))
        return self.window_start_ms[self.significant[pair]]


def _positive(value, name):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise input_error(name, "a finite float > 0 (ms)", repr(value)) from None
    if not np.isfinite(v) or v <= 0:
        raise input_error(name, "a finite float > 0 (ms)", repr(value))
    return v


def _whole_bins(value, bin_ms, name):
    ratio = value / bin_ms
    k = round(ratio)
    if k < 1 or abs(ratio - k) > 1e-9 * max(1.0, ratio):
        raise input_error(name, f"a whole multiple of bin_ms = {bin_ms} ms", f"{value} ms ({ratio:.6g} bins)",
                          "Elephant only warns here and floors the ratio; choose a multiple of bin_ms.")
    return k


def _rows(rows, n, name):
    arr = np.atleast_1d(np.asarray(rows))
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise input_error(name, "a 1-D sequence of int rows", f"dtype {arr.dtype}, shape {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise input_error(name, f"rows in [0, {n})", f"range [{arr.min()}, {arr.max()}]")
    if np.unique(arr).size != arr.size:
        raise input_error(name, "distinct rows", arr.tolist()[:10])
    return arr


def _pairs(record, pairs, units, between):
    given = [k for k, v in (("pairs", pairs), ("units", units), ("between", between)) if v is not None]
    if isinstance(pairs, str) and pairs == "all":
        given.remove("pairs")
        pairs = None
    if len(given) > 1:
        raise input_error(", ".join(given), "at most one of pairs, units and between", "several",
                          "Give explicit pairs, or units (all pairs among them), or between=(rows_a, rows_b).")
    n = record.n_units
    if pairs is not None:
        if isinstance(pairs, str):
            raise input_error("pairs", "'all', None or an (n, 2) array of unit rows", repr(pairs))
        arr = np.asarray(pairs)
        if arr.ndim != 2 or arr.shape[1] != 2 or (arr.size and arr.dtype.kind not in "iu"):
            raise input_error("pairs", "an (n_pairs, 2) array of int unit rows", f"dtype {arr.dtype}, shape {arr.shape}")
        arr = arr.astype(np.int64).reshape(-1, 2)
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            raise input_error("pairs", f"unit rows in [0, {n})", f"range [{arr.min()}, {arr.max()}]")
        if np.any(arr[:, 0] == arr[:, 1]):
            raise input_error("pairs", "two different units per pair", f"{int(np.sum(arr[:, 0] == arr[:, 1]))} pairs (i, i)")
        return arr
    if between is not None:
        if not isinstance(between, (tuple, list)) or len(between) != 2:
            raise input_error("between", "a pair (rows_a, rows_b) of unit-row sequences", type(between).__name__)
        a = _rows(between[0], n, "between[0]")
        b = _rows(between[1], n, "between[1]")
        ia, ib = np.meshgrid(a, b, indexing="ij")
        arr = np.stack([ia.ravel(), ib.ravel()], axis=1)
        return arr[arr[:, 0] != arr[:, 1]]
    rows = np.arange(n, dtype=np.int64) if units is None else _rows(units, n, "units")
    i, j = np.triu_indices(rows.size, k=1)
    return np.stack([rows[i], rows[j]], axis=1)


def _window_edges(t_start, t_stop, win_ms, winstep_ms):
    # numpy.arange as Elephant's _winpos: the same floats, the same number of windows.
    return np.arange(t_start, t_stop - win_ms + winstep_ms, winstep_ms)


def unitary_event_analysis(record, *, bin_ms, win_ms, winstep_ms, pairs=None, units=None, between=None, trials=None,
                   method="analytic_TrialByTrial", significance=0.05, t_start_ms=0.0, t_stop_ms=None):
    """Unitary events of unit pairs in sliding windows over all (selected) trials at once.

    Parameters
    ----------
    record : SpikeRecord or neo.Block
    bin_ms : float
        Bin width (ms); bins start at ``t_start_ms``.
    win_ms, winstep_ms : float
        Window length and step (ms), whole multiples of ``bin_ms``; ``win_ms <= t_stop_ms - t_start_ms``.
    pairs : None, "all" or array of int, shape (n_pairs, 2), optional
        Explicit pairs of unit rows. Default: all pairs ``i < j`` of ``units``.
    units : sequence of int, optional
        Unit rows whose pairs are analysed (default all units).
    between : (sequence of int, sequence of int), optional
        All pairs ``(a, b)`` with ``a`` in the first group and ``b`` in the second (``a != b``).
        At most one of ``pairs``, ``units`` and ``between`` may be given.
    trials : sequence of int, optional
        Trial rows (default all).
    method : {"analytic_TrialByTrial", "analytic_TrialAverage"}
        Expected coincidences (see :data:`UE_METHODS`).
    significance : float
        ``alpha`` in (0, 1): a window is significant when ``p <= alpha`` (uncorrected).
    t_start_ms, t_stop_ms : float, optional
        Analysed part of each trial (default the whole trial ``[0, trial_duration_ms]``); every used trial must
        last at least ``t_stop_ms`` (Elephant assumes trials of equal length).

    Returns
    -------
    UnitaryEvents
    """
    record = as_record(record, "record")
    bin_ms = _positive(bin_ms, "bin_ms")
    win_ms = _positive(win_ms, "win_ms")
    winstep_ms = _positive(winstep_ms, "winstep_ms")
    if method not in UE_METHODS:
        fix = ("The surrogate method is random; it is not implemented here (use Elephant's jointJ_window_analysis)."
               if method == "surrogate_TrialByTrial" else None)
        raise input_error("method", f"one of {sorted(UE_METHODS)}", repr(method), fix)
    try:
        alpha = float(significance)
    except (TypeError, ValueError):
        raise input_error("significance", "a float in (0, 1)", repr(significance)) from None
    if not 0.0 < alpha < 1.0:
        raise input_error("significance", "a float in (0, 1)", repr(significance))
    trial_rows = np.arange(record.n_trials, dtype=np.int64) if trials is None else _rows(trials, record.n_trials, "trials")
    if trial_rows.size == 0:
        raise input_error("trials", "at least one trial row", "none")
    pair_rows = _pairs(record, pairs, units, between)
    if pair_rows.shape[0] == 0:
        raise input_error("pairs" if pairs is not None else ("between" if between is not None else "units"),
                          "at least one pair of two different units", "no pair")

    dur = record.trials.columns.get("duration_ms")
    dur = np.full(record.n_trials, record.trial_duration_ms) if dur is None else np.asarray(dur, float)
    t0 = float(t_start_ms) if t_start_ms is not None else 0.0
    t1 = float(record.trial_duration_ms) if t_stop_ms is None else float(t_stop_ms)
    if not (np.isfinite(t0) and np.isfinite(t1) and 0.0 <= t0 < t1):
        raise input_error("t_start_ms, t_stop_ms", "0 <= t_start_ms < t_stop_ms", f"{t_start_ms}, {t_stop_ms}")
    shortest = float(dur[trial_rows].min())
    if t1 > shortest:
        raise input_error("t_stop_ms", f"<= {shortest} ms, the shortest used trial", t1,
                          "Give t_stop_ms, or select trials that all last that long.")
    if win_ms > t1 - t0:
        raise input_error("win_ms", f"<= t_stop_ms - t_start_ms = {t1 - t0} ms", win_ms,
                          "Elephant gives zero windows here; shorten the window.")
    win_bins = _whole_bins(win_ms, bin_ms, "win_ms")
    step_bins = _whole_bins(winstep_ms, bin_ms, "winstep_ms")
    span = (t1 - t0) / bin_ms
    n_bins = int(span + 0.5) if span % 1.0 >= 1.0 - _EDGE_TOL else int(span)
    if n_bins < 1:
        raise input_error("bin_ms", f"<= t_stop_ms - t_start_ms = {t1 - t0} ms", bin_ms)

    starts = _window_edges(t0, t1, win_ms, winstep_ms)
    lo = np.arange(starts.size, dtype=np.int64) * step_bins
    lo_c = np.minimum(lo, n_bins)
    hi = np.minimum(lo + win_bins, n_bins)
    length = hi - lo_c

    # ---- binary binning of the used trials and units
    rate_units, pair_local = np.unique(pair_rows.ravel(), return_inverse=True)
    pair_local = pair_local.reshape(-1, 2)
    n_r, n_u = trial_rows.size, rate_units.size
    unit_map = np.full(record.n_units, -1, np.int64)
    unit_map[rate_units] = np.arange(n_u)
    trial_map = np.full(record.n_trials, -1, np.int64)
    trial_map[trial_rows] = np.arange(n_r)
    t = record.times_ms
    u = unit_map[record.unit_index]
    r = trial_map[record.trial_index]
    keep = (u >= 0) & (r >= 0) & (t >= t0) & (t <= t1)
    v = (t[keep] - t0) * (1.0 / bin_ms)
    v = np.where(np.mod(v, 1.0) >= 1.0 - _EDGE_TOL, v + 0.5, v)
    b = v.astype(np.int64)
    ok = b < n_bins
    b, u, r = b[ok], u[keep][ok], r[keep][ok]
    x = np.zeros((n_bins, n_r, n_u), dtype=bool)  # x[bin, trial, unit]
    x[b, r, u] = True

    n_pairs = pair_rows.shape[0]
    pi, pj = pair_local[:, 0], pair_local[:, 1]
    dense = 4 * n_pairs >= n_u * n_u

    # ---- empirical coincidences: per bin, summed over trials, then cumulative over bins
    co = np.zeros((n_bins + 1, n_pairs), np.int64)
    if n_pairs:
        if dense:
            chunk = max(1, int(2 ** 26 // max(1, n_u * max(n_u, n_r))))
            for s in range(0, n_bins, chunk):
                xs = x[s:s + chunk].astype(np.float32)
                gram = np.matmul(xs.transpose(0, 2, 1), xs)  # (bins, units, units), exact integer counts
                co[s + 1:s + 1 + xs.shape[0]] = gram[:, pi, pj]
        else:
            chunk = max(1, int(2 ** 26 // max(1, n_bins * n_r)))
            for s in range(0, n_pairs, chunk):
                sl = slice(s, s + chunk)
                co[1:, sl] = np.count_nonzero(x[:, :, pi[sl]] & x[:, :, pj[sl]], axis=1)
    np.cumsum(co, axis=0, out=co)
    n_emp = (co[hi] - co[lo_c]).T  # (pairs, windows)

    # ---- spike-bin counts per trial, unit and window
    cs = np.zeros((n_bins + 1, n_r, n_u), np.int32)
    np.cumsum(x, axis=0, out=cs[1:])
    counts = cs[hi] - cs[lo_c]  # (windows, trials, units), int32
    ct = np.zeros((n_bins + 1, n_u), np.int64)
    np.cumsum(np.count_nonzero(x, axis=1), axis=0, out=ct[1:])
    total = (ct[hi] - ct[lo_c]).astype(np.float64)  # (windows, units): summed over trials
    with np.errstate(divide="ignore", invalid="ignore"):
        lw = length.astype(np.float64)
        if method == "analytic_TrialByTrial":
            if dense and n_pairs:
                # integer sums of products <= n_trials * win_bins^2: exact in float32 below 2^24
                ftype = np.float32 if n_r * win_bins * win_bins < 2 ** 24 else np.float64
                prod = np.empty((starts.size, n_pairs))
                chunk = max(1, int(2 ** 26 // max(1, n_u * max(n_u, n_r))))
                for s in range(0, starts.size, chunk):
                    c = counts[s:s + chunk].astype(ftype)
                    prod[s:s + chunk] = np.matmul(c.transpose(0, 2, 1), c)[:, pi, pj]
            else:
                prod = np.einsum("wrp,wrp->wp", counts[:, :, pi].astype(np.float64), counts[:, :, pj])
            n_exp = (prod / lw[:, None]).T
        else:
            n_exp = (total[:, pi] * total[:, pj] / (n_r * lw)[:, None]).T
        n_exp = np.where(length[None, :] > 0, n_exp, np.nan)
        rate_hz = (total / (n_r * lw)[:, None]).T * (1000.0 / bin_ms)

    from scipy.special import gammainc, gammaincc

    # the tail that can be small is computed directly, the other as 1 minus it (both are >~ 0.3 at the switch
    # n_emp = n_exp): each tail to a few ulp relative, at half the cost of evaluating both
    ne = n_emp.astype(np.float64)
    upper = ne > n_exp
    p = np.empty_like(ne)
    q = np.empty_like(ne)
    p[upper] = gammainc(ne[upper], n_exp[upper])
    q[upper] = 1.0 - p[upper]
    q[~upper] = gammaincc(ne[~upper], n_exp[~upper])
    p[~upper] = 1.0 - q[~upper]
    with np.errstate(divide="ignore", invalid="ignore"):
        surprise = np.log10(q) - np.log10(p)
    significant = p <= alpha  # NaN compares False

    names = record.units.name[pair_rows] if n_pairs else np.zeros((0, 2), dtype="<U1")
    definition = (
        f"unitary events of unit pairs, pattern [1, 1] (Elephant jointJ_window_analysis): each trial's spikes in "
        f"[{t0:g}, {t1:g}] ms binned in {bin_ms:g} ms bins from {t0:g} ms (a spike within 1e-8 bin of an edge in the "
        f"next bin, none at t_stop), binary: several spikes of a unit in a bin count once; windows of {win_ms:g} ms "
        f"every {winstep_ms:g} ms; n_emp = bins where both units fire, summed over {n_r} trials; "
        f"{method}: {UE_METHODS[method]}; null: Poisson with mean n_exp, p = P(X >= n_emp), surprise "
        f"log10((1 - p) / p); significant: p <= {alpha:g} per pair and window, no multiple-comparison correction")
    return UnitaryEvents(
        pairs=pair_rows, pair_names=np.asarray(names), window_start_ms=starts, window_centre_ms=starts + win_ms / 2.0,
        window_bins=length, n_emp=np.ascontiguousarray(n_emp), n_exp=np.ascontiguousarray(n_exp), p=p,
        surprise=surprise, significant=significant, rate_units=rate_units, rate_hz=rate_hz, trials=trial_rows,
        bin_ms=bin_ms, win_ms=win_ms, winstep_ms=winstep_ms, t_start_ms=t0, t_stop_ms=t1, method=method,
        significance=alpha, definition=definition)
