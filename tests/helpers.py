"""Helpers shared by the Neo / adapter / analysis tests (data location, synthetic records, comparisons)."""

import numpy as np
import pytest

from synsem_ephys.adapters import data_dir
from synsem_ephys.io.layout import default_gap_ms
from synsem_ephys.record import SpikeRecord
from synsem_ephys.spec import NetworkSpec


def ephys_dir():
    """``$SYNSEM_DATA/ephys``; skip only if the whole data directory is absent, fail if ``ephys/`` is missing."""
    root = data_dir(must_exist=False)
    if not root.exists():
        pytest.skip(f"data directory {root} absent (set SYNSEM_DATA)")
    return data_dir("ephys")


def shared_data(*parts):
    """``$SYNSEM_DATA/<parts>``; skip only if the whole data directory is absent, fail if ``parts`` is missing."""
    root = data_dir(must_exist=False)
    if not root.exists():
        pytest.skip(f"data directory {root} absent (set SYNSEM_DATA)")
    return data_dir(*parts)


def small_spec():
    return NetworkSpec(n_inputs=6, hidden=((4, 2), (3, 1)), n_outputs=3)


def sim_record(n_trials=8, seed=0, spec=None, p_fire=0.7, span_ms=30.0):
    """A record shaped like the simulator's output: first-spike times, +inf = silent, via from_layer_times."""
    spec = spec or small_spec()
    rng = np.random.default_rng(seed)
    layers = []
    for k, n in enumerate(spec.layer_sizes):
        t = k * 2.0 + rng.random((n_trials, n)) * span_ms
        layers.append(np.where(rng.random((n_trials, n)) < p_fire, t, np.inf))
    labels = rng.integers(0, spec.n_outputs, n_trials)
    pred = np.argmin(layers[-1], axis=1)
    return SpikeRecord.from_layer_times(layers, spec.populations(), labels=labels, predictions=pred,
                                        meta={"spec_json": spec.to_json(), "seed": seed, "version": "test"}), layers


def canonical(record):
    """Spike arrays sorted by (unit, trial, time)."""
    o = record.order_by_unit()
    return record.times_ms[o], record.unit_index[o], record.trial_index[o]


def assert_records_equal(a, b, *, rtol=0.0, atol=0.0, meta=True):
    """Same spikes (times to tolerance; units, trials exact), unit table, trial table, events."""
    ta, ua, ra = canonical(a)
    tb, ub, rb = canonical(b)
    np.testing.assert_array_equal(ua, ub)
    np.testing.assert_array_equal(ra, rb)
    np.testing.assert_allclose(tb, ta, rtol=rtol, atol=atol)
    assert a.trial_duration_ms == b.trial_duration_ms
    for f in ("name", "population", "layer", "cell_type", "index_in_population", "channel_id"):
        np.testing.assert_array_equal(getattr(a.units, f), getattr(b.units, f), err_msg=f)
    assert list(a.units.columns) == list(b.units.columns)
    for k in a.units.columns:
        np.testing.assert_array_equal(a.units.columns[k], b.units.columns[k], err_msg=k)
    np.testing.assert_array_equal(a.trials.label, b.trials.label)
    np.testing.assert_array_equal(a.trials.prediction, b.trials.prediction)
    np.testing.assert_array_equal(a.trials.decision_time_ms, b.trials.decision_time_ms)
    assert a.trials.label_names == b.trials.label_names
    assert list(a.trials.columns) == list(b.trials.columns)
    for k in a.trials.columns:
        np.testing.assert_array_equal(a.trials.columns[k], b.trials.columns[k], err_msg=k)
    assert sorted(a.events) == sorted(b.events)
    for k in a.events:
        np.testing.assert_array_equal(a.events[k].trial_index, b.events[k].trial_index)
        np.testing.assert_allclose(b.events[k].times_ms, a.events[k].times_ms, rtol=rtol, atol=atol)
    if meta:
        assert a.meta == b.meta


def block_atol(record, gap_ms=None):
    """Bound of the offset + time - offset rounding of a Block round trip (a few ulps of the last time)."""
    dur = record.trial_duration_ms
    gap = default_gap_ms(dur) if gap_ms is None else gap_ms
    return 4 * np.spacing(max(record.n_trials, 1) * (dur + gap))
