"""The complexity cross-check's fast path equals Elephant's Complexity over every unit's SpikeTrain, and the
quantities lookup cache changes no result and restores quantities on exit."""

import logging
import threading
import warnings

import numpy as np
import pytest

from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable
from helpers import sim_record


def _elephant_reference(record, trials, bin_ms):
    """Elephant's own path: TrialView (one SpikeTrain per unit, silent ones too), Complexity per group and trial."""
    import quantities as pq
    import elephant.utils
    from elephant.statistics import Complexity
    from elephant.utils import round_binning_errors

    from synsem_ephys.analysis._common import unit_groups
    from synsem_ephys.io.trials import TrialView

    groups = unit_groups(record, "auto")
    peak = np.zeros((groups.n_groups, len(trials)), np.int64)
    cx = np.full(peak.shape, np.nan)
    level = elephant.utils.logger.level
    elephant.utils.logger.setLevel(logging.ERROR)
    try:
        for g in range(groups.n_groups):
            view = TrialView(record, trials=trials, units=np.flatnonzero(groups.of_unit == g))
            for i in range(len(trials)):
                sts = list(view[i])
                if not sum(len(st) for st in sts):
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    hist = Complexity(sts, bin_size=bin_ms * pq.ms, binary=True, spread=0).time_histogram
                hist = np.asarray(hist.magnitude).ravel()
                peak[g, i] = hist.max()
                t = np.concatenate([st.magnitude for st in sts])
                per_spike = hist[np.minimum(round_binning_errors(t / bin_ms, tolerance=1e-8), hist.size - 1)]
                cx[g, i] = np.mean(per_spike)
    finally:
        elephant.utils.logger.setLevel(level)
    return peak, cx


def _multi_spike_record():
    """Two populations, silent units, several spikes per unit and trial, spikes on and near bin edges."""
    rng = np.random.default_rng(3)
    n_units, n_trials = 12, 4
    t = np.concatenate([rng.uniform(0, 40, 150), [5.0, 6.0 - 1e-12, 7.0 - 1e-9, 39.999999999]])
    u = np.concatenate([rng.integers(0, 9, 150), [0, 1, 2, 3]])  # units 9-11 silent
    r = np.concatenate([rng.integers(0, n_trials, 150), [0, 0, 1, 2]])
    idx = np.arange(n_units)
    units = UnitTable(name=[f"u{i}" for i in idx], population=np.array(["A"] * 6 + ["B"] * 6),
                      layer=np.full(n_units, -1), cell_type=np.full(n_units, "unknown"), index_in_population=idx % 6,
                      channel_id=idx)
    return SpikeRecord(t, u, r, units, TrialTable(np.zeros(n_trials, int)), 40.0)


@pytest.mark.parametrize("make", ["sim", "multi"])
@pytest.mark.parametrize("bin_ms", [1.0, 2.5])
def test_fast_complexity_equals_elephant_on_every_unit(make, bin_ms):
    pytest.importorskip("elephant")
    from synsem_ephys.analysis.complexity import complexity_by_group

    record = sim_record(n_trials=6, seed=5, p_fire=0.6)[0] if make == "sim" else _multi_spike_record()
    trials = [3, 0, 2] if make == "sim" else [0, 1, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        c = complexity_by_group(record, bin_ms=bin_ms, trials=trials)
    peak, cx = _elephant_reference(record, trials, bin_ms)
    assert c.agrees
    assert np.array_equal(c.peak_complexity, peak)
    assert np.array_equal(c.mean_spike_complexity, cx, equal_nan=True)
    sel = record.select(trials=trials)
    assert c.n_spikes.sum() == sel.n_spikes
    assert c.peak_complexity.max() > 1  # the case is not trivial


def test_quantities_lookups_cached_gives_the_same_results_and_restores():
    import quantities as pq
    import quantities.dimensionality as qd
    import quantities.quantity as qq

    from synsem_ephys.units import quantities_lookups_cached

    before = (qd.unit_registry, qq.unit_registry)
    x = np.array([1.5, 2.0]) * pq.s
    plain = (x.rescale("ms"), hash(x.dimensionality), (x == 2.0 * pq.s).tolist(), pq.Quantity(3.0, "mV"))
    with quantities_lookups_cached():
        inner = qd.unit_registry
        assert inner is not before[0] and qq.unit_registry is inner
        with quantities_lookups_cached():  # nested: the same replacement
            assert qd.unit_registry is inner
        assert qd.unit_registry is inner
        cached = (x.rescale("ms"), hash(x.dimensionality), (x == 2.0 * pq.s).tolist(), pq.Quantity(3.0, "mV"))
        with pytest.raises(LookupError):
            inner["no_such_unit_xyz"]
    assert (qd.unit_registry, qq.unit_registry) == before
    assert np.array_equal(plain[0].magnitude, cached[0].magnitude) and plain[0].units == cached[0].units
    assert plain[1:3] == cached[1:3] and plain[3] == cached[3] and plain[3].units == cached[3].units


def test_quantities_lookups_cached_restores_after_an_error_and_across_threads():
    import quantities.dimensionality as qd

    from synsem_ephys.units import quantities_lookups_cached

    before = qd.unit_registry
    with pytest.raises(RuntimeError):
        with quantities_lookups_cached():
            raise RuntimeError("inside")
    assert qd.unit_registry is before
    barrier = threading.Barrier(4)

    def work():
        for _ in range(50):
            with quantities_lookups_cached():
                barrier.wait(timeout=10) if _ == 0 else None
                assert qd.unit_registry is not before

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert qd.unit_registry is before
