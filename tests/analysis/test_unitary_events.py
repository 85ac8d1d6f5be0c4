"""Unitary events of all pairs against Elephant's jointJ_window_analysis, pair by pair, on small cases."""

import warnings

import numpy as np
import pytest

from synsem_ephys.analysis.unitary_events import UnitaryEvents, unitary_event_analysis
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable

uea = pytest.importorskip("elephant.unitary_event_analysis")
pq = pytest.importorskip("quantities")
neo = pytest.importorskip("neo")
conv = pytest.importorskip("elephant.conversion")

METHODS = ("analytic_TrialByTrial", "analytic_TrialAverage")


def make_record(seed=0, n_trials=5, n_units=4, duration_ms=300.0, rate=12, silent=(3,), inject=(0, 1), n_inject=5,
                on_edges=False):
    """Poisson-ish trains, one silent unit, a pair with injected near-coincidences (0.3 ms apart)."""
    rng = np.random.default_rng(seed)
    t, u, r = [], [], []
    for trial in range(n_trials):
        for unit in range(n_units):
            if unit in silent:
                continue
            k = rng.poisson(rate)
            t += list(rng.uniform(0, duration_ms, k))
            u += [unit] * k
            r += [trial] * k
        if inject:
            c = rng.uniform(0, duration_ms - 1, n_inject)
            t += list(c) + list(c + 0.3)
            u += [inject[0]] * n_inject + [inject[1]] * n_inject
            r += [trial] * 2 * n_inject
        if on_edges:  # spikes exactly on bin and window edges, at 0 and just before the end
            edges = [0.0, 5.0, 10.0, 50.0, 100.0, 245.0, 250.0, duration_ms - 1e-9]
            t += edges + edges
            u += [0] * len(edges) + [2] * len(edges)
            r += [trial] * 2 * len(edges)
    return SpikeRecord(t, u, r, UnitTable.simple(n_units), TrialTable(np.zeros(n_trials, int)), duration_ms)


def spiketrains(record, pair, shift_ms=0.0, t_stop_ms=None):
    """Elephant's input ``trials[trial][unit]`` for one pair (times shifted by ``-shift_ms``)."""
    stop = record.trial_duration_ms - shift_ms if t_stop_ms is None else t_stop_ms
    out = []
    for trial in range(record.n_trials):
        sts = []
        for unit in pair:
            sel = (record.trial_index == trial) & (record.unit_index == unit)
            times = record.times_ms[sel] - shift_ms
            times = times[(times >= 0) & (times <= stop)]
            sts.append(neo.SpikeTrain(np.sort(times) * pq.ms, t_start=0 * pq.ms, t_stop=stop * pq.ms))
        out.append(sts)
    return out


def elephant_float64(sts, bin_ms, win_ms, step_ms, method, t_stop_ms):
    """jointJ_window_analysis's own loop with its float64 values (the public function rounds to float32):
    Elephant's BinnedSpikeTrain, _winpos, _bintime and _UE, as it calls them."""
    b, w, s = bin_ms * pq.ms, win_ms * pq.ms, step_ms * pq.ms
    t0, t1 = 0 * pq.ms, t_stop_ms * pq.ms
    n_bins = int(((t1 - t0) / b).simplified.item())
    mat = np.zeros((len(sts), 2, n_bins), np.int32)
    for k, pair in enumerate(sts):
        mat[k] = conv.BinnedSpikeTrain(list(pair), t_start=t0, t_stop=t1, bin_size=b).to_bool_array()
    left = uea._bintime(uea._winpos(t0, t1, w, s), b)
    width = uea._bintime(w, b)
    rows = [uea._UE(mat[:, :, a:a + width], pattern_hash=[3], method=method) for a in left]
    js, n_exp, n_emp = (np.array([np.asarray(row[i], float)[0] for row in rows]) for i in (0, 2, 3))
    return n_emp, n_exp, js


def check_against_elephant(rec, res, method, bin_ms, win_ms, step_ms, shift_ms=0.0, t_stop_ms=None):
    stop = (rec.trial_duration_ms if t_stop_ms is None else t_stop_ms) - shift_ms
    for k, pair in enumerate(res.pairs):
        sts = spiketrains(rec, pair, shift_ms, stop)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pub = uea.jointJ_window_analysis(sts, bin_size=bin_ms * pq.ms, win_size=win_ms * pq.ms,
                                             win_step=step_ms * pq.ms, method=method)
            n_emp, n_exp, js = elephant_float64(sts, bin_ms, win_ms, step_ms, method, stop)
        assert pub["n_emp"].shape == (res.n_windows, 1)
        # the public float32 output
        np.testing.assert_array_equal(pub["n_emp"][:, 0], res.n_emp[k])
        np.testing.assert_allclose(pub["n_exp"][:, 0], res.n_exp[k], rtol=1e-6, atol=0)
        np.testing.assert_allclose(pub["Js"][:, 0], res.surprise[k], rtol=1e-5, atol=1e-6)
        # its float64 internals, to rounding
        np.testing.assert_array_equal(n_emp, res.n_emp[k])
        np.testing.assert_allclose(n_exp, res.n_exp[k], rtol=1e-12, atol=0)
        with np.errstate(over="ignore"):
            p_eleph = 1.0 / (1.0 + 10.0 ** js)  # Js = log10((1 - p) / p)
        tails = np.minimum(res.p[k], 1 - res.p[k])
        good = np.isfinite(js) & (tails > 1e-4)
        np.testing.assert_allclose(js[good], res.surprise[k][good], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(np.isnan(js), np.isnan(res.surprise[k]))
        np.testing.assert_array_equal(js[~np.isfinite(js)], res.surprise[k][~np.isfinite(js)])
        ok = np.isfinite(p_eleph)
        np.testing.assert_allclose(p_eleph[ok & good], res.p[k][ok & good], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_all_pairs_equal_elephant_pair_by_pair(method):
    rec = make_record(seed=1)
    res = unitary_event_analysis(rec, bin_ms=5, win_ms=50, winstep_ms=10, method=method)
    assert isinstance(res, UnitaryEvents) and res.n_pairs == 6
    assert res.pairs.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    check_against_elephant(rec, res, method, 5, 50, 10)
    # the injected pair stands out; the silent unit's pairs have no test (NaN, never significant)
    assert res.significant[0].any() and res.n_emp[0].sum() > 1.5 * res.n_exp[0].sum()
    silent = (res.pairs == 3).any(axis=1)
    assert np.isnan(res.p[silent]).all() and not res.significant[silent].any()
    assert (res.n_emp[silent] == 0).all() and (res.n_exp[silent] == 0).all()


def test_spikes_on_edges_and_a_cut_last_window():
    # 302 ms, windows of 50 every 10: the last window [260, 310) is cut at the last whole bin (300 ms)
    rec = make_record(seed=2, n_trials=3, n_units=3, silent=(), duration_ms=302.0, on_edges=True)
    res = unitary_event_analysis(rec, bin_ms=5, win_ms=50, winstep_ms=10)
    assert res.window_bins[-1] == 8 and res.window_bins[0] == 10
    check_against_elephant(rec, res, "analytic_TrialByTrial", 5, 50, 10)
    # a spike exactly at t_stop is dropped (Elephant's binning), one on an inner edge opens the next bin
    rec2 = make_record(seed=2, n_trials=3, n_units=3, silent=(), on_edges=True)
    res2 = unitary_event_analysis(rec2, bin_ms=5, win_ms=50, winstep_ms=50, t_stop_ms=250.0)
    check_against_elephant(rec2, res2, "analytic_TrialByTrial", 5, 50, 50, t_stop_ms=250.0)


def test_one_pair_many_windows_and_bin_one_ms():
    rec = make_record(seed=3, n_trials=8, n_units=2, silent=(), rate=40, n_inject=8)
    res = unitary_event_analysis(rec, bin_ms=1, win_ms=20, winstep_ms=3, pairs=[[1, 0]], method="analytic_TrialAverage")
    assert res.pairs.tolist() == [[1, 0]] and res.n_windows == len(np.arange(0, 300 - 20 + 3, 3))
    check_against_elephant(rec, res, "analytic_TrialAverage", 1, 20, 3)


def test_groups_trials_and_t_start():
    rec = make_record(seed=4, n_trials=6, n_units=4, silent=())
    full = unitary_event_analysis(rec, bin_ms=5, win_ms=50, winstep_ms=25)
    betw = unitary_event_analysis(rec, bin_ms=5, win_ms=50, winstep_ms=25, between=([0, 1], [2, 3]))
    assert betw.pairs.tolist() == [[0, 2], [0, 3], [1, 2], [1, 3]]
    rows = [full.pairs.tolist().index(p) for p in betw.pairs.tolist()]
    np.testing.assert_array_equal(betw.n_emp, full.n_emp[rows])
    np.testing.assert_array_equal(betw.n_exp, full.n_exp[rows])
    few = unitary_event_analysis(rec, bin_ms=5, win_ms=50, winstep_ms=25, pairs=[[0, 1], [2, 3]])  # the per-pair path
    np.testing.assert_array_equal(few.n_emp, full.n_emp[[0, 5]])
    np.testing.assert_allclose(few.n_exp, full.n_exp[[0, 5]], rtol=1e-13)
    within = unitary_event_analysis(rec, bin_ms=5, win_ms=50, winstep_ms=25, units=[3, 1])
    assert within.pairs.tolist() == [[3, 1]]
    # trials: the same as the selected record
    some = unitary_event_analysis(rec, bin_ms=5, win_ms=50, winstep_ms=25, trials=[4, 0, 2])
    sub = unitary_event_analysis(rec.select(trials=[0, 2, 4]), bin_ms=5, win_ms=50, winstep_ms=25)
    np.testing.assert_array_equal(some.n_emp, sub.n_emp)
    np.testing.assert_allclose(some.n_exp, sub.n_exp, rtol=1e-13)
    # t_start: windows from t_start, equal to Elephant on the spikes shifted to start at 0
    shifted = unitary_event_analysis(rec, bin_ms=5, win_ms=50, winstep_ms=10, t_start_ms=40.0, pairs=[[0, 1], [2, 3]])
    assert shifted.window_start_ms[0] == 40.0 and shifted.window_start_ms[-1] == 250.0
    check_against_elephant(rec, shifted, "analytic_TrialByTrial", 5, 50, 10, shift_ms=40.0)


def test_p_value_and_surprise_definitions():
    from scipy.stats import poisson

    rec = make_record(seed=5, n_trials=4, n_units=3, silent=())
    res = unitary_event_analysis(rec, bin_ms=5, win_ms=100, winstep_ms=50, significance=0.2)
    ok = res.n_emp > 0
    np.testing.assert_allclose(res.p[ok], poisson.sf(res.n_emp[ok] - 1, res.n_exp[ok]), rtol=1e-12)
    assert (res.p[~ok] == 1).all() and np.isneginf(res.surprise[~ok]).all()
    np.testing.assert_allclose(res.surprise[ok], np.log10((1 - res.p[ok]) / res.p[ok]), rtol=1e-9)
    np.testing.assert_array_equal(res.significant, res.p <= 0.2)
    k = int(np.argmax(res.significant.sum(axis=1)))
    np.testing.assert_array_equal(res.significant_windows(k), res.window_start_ms[res.significant[k]])
    for text in ("binary", "Poisson", "no multiple-comparison correction", "analytic_TrialByTrial"):
        assert text in res.definition
    assert res.rate_hz.shape == (3, res.n_windows) and res.window_centre_ms[0] == 50.0


def test_tiny_p_stays_finite_where_elephant_rounds_to_zero():
    # many coincidences: P(X >= n) ~ 1e-30; Elephant's 1 - gammaincc is 0 there (Js = inf), documented
    rec = make_record(seed=6, n_trials=10, n_units=2, silent=(), rate=3, n_inject=10)
    res = unitary_event_analysis(rec, bin_ms=5, win_ms=300, winstep_ms=300)
    assert 0 < res.p[0, 0] < 1e-16 and np.isfinite(res.surprise[0, 0]) and res.surprise[0, 0] > 16
    sts = spiketrains(rec, (0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pub = uea.jointJ_window_analysis(sts, bin_size=5 * pq.ms, win_size=300 * pq.ms, win_step=300 * pq.ms)
    assert pub["n_emp"][0, 0] == res.n_emp[0, 0] and np.isposinf(pub["Js"][0, 0])


@pytest.mark.parametrize("kwargs, argument", [
    ({"bin_ms": 0}, "bin_ms"),
    ({"win_ms": 52}, "win_ms"),
    ({"winstep_ms": 7.5}, "winstep_ms"),
    ({"win_ms": 500}, "win_ms"),
    ({"method": "surrogate_TrialByTrial"}, "method"),
    ({"method": "nope"}, "method"),
    ({"significance": 1.0}, "significance"),
    ({"pairs": [[0, 0]]}, "pairs"),
    ({"pairs": [0, 1]}, "pairs"),
    ({"pairs": [[0, 9]]}, "pairs"),
    ({"units": [1]}, "units"),
    ({"units": [0, 0]}, "units"),
    ({"units": [0, 1], "pairs": [[0, 1]]}, "pairs, units"),
    ({"between": [0, 1, 2]}, "between"),
    ({"trials": [7]}, "trials"),
    ({"t_stop_ms": 400.0}, "t_stop_ms"),
    ({"t_start_ms": 300.0}, "t_start_ms"),
])
def test_errors_name_their_argument(kwargs, argument):
    rec = make_record(seed=7, n_trials=2, n_units=3, silent=())
    base = {"bin_ms": 5, "win_ms": 50, "winstep_ms": 10}
    base.update(kwargs)
    with pytest.raises(ValueError) as err:
        unitary_event_analysis(rec, **base)
    assert str(err.value).startswith(argument + ":") or str(err.value).startswith(argument + ", ")


def test_record_argument_checked():
    with pytest.raises(ValueError, match="^record:"):
        unitary_event_analysis([1, 2], bin_ms=5, win_ms=50, winstep_ms=10)


def test_lazy_export_not_shadowed_by_the_module():
    from synsem_ephys import analysis

    assert analysis.unitary_event_analysis is unitary_event_analysis and analysis.UnitaryEvents is UnitaryEvents
