"""Spikes against a record signal: tuning curves against hand-computed examples, Skaggs information of a
place-cell-like unit (significant) and of a Poisson unit (not), Elephant's STA against numpy, the report's
tuning section and the CLI's --signal error."""

import warnings

import numpy as np
import pytest

from synsem_ephys.analysis.signals import signal_information, skaggs_information, spike_triggered_average, tuning_curves
from synsem_ephys.record import Signal, SpikeRecord, TrialTable, UnitTable


def _record(times, units, signal, *, n_units=None, trials=None, duration=1000.0):
    trials = np.zeros(len(times), np.int64) if trials is None else np.asarray(trials)
    n_trials = int(max(signal.trial_index.max(initial=0), trials.max(initial=0))) + 1
    n_units = int(max(units, default=0)) + 1 if n_units is None else n_units
    return SpikeRecord(times, units, trials, UnitTable.simple(n_units), TrialTable(np.full(n_trials, -1)), duration,
                       signals={"x": signal})


def test_tuning_curve_by_hand():
    # 10 samples at 10 Hz (100 ms each) of one 1-s trial; values in bins [0,1) [1,2) [2,3) [3,4]
    x = Signal.regular([0.5, 1.5, 2.5, 2.5, 1.5, 0.5, 2.5, 2.5, 3.0, np.nan], 10.0, 0.0, unit="m")
    # unit 0 fires only while x is in [2, 3): samples 2, 3, 6, 7 (t in [200, 400) and [600, 800))
    # unit 1: one spike in bin 0, one during the NaN sample (no value), none else
    rec = _record([210.0, 250.0, 390.0, 650.0, 10.0, 950.0], [0, 0, 0, 0, 1, 1], x)
    tc = tuning_curves(rec, "x", bins=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(tc.occupancy_s, [0.2, 0.2, 0.4, 0.1, 0.0])  # the NaN sample holds no bin
    np.testing.assert_array_equal(tc.counts, [[0, 0, 4, 0, 0], [1, 0, 0, 0, 0]])
    np.testing.assert_allclose(tc.rate_hz[:, :4], [[0, 0, 10.0, 0], [5.0, 0, 0, 0]])
    assert np.all(np.isnan(tc.rate_hz[:, 4]))  # never visited: NaN, not 0
    np.testing.assert_array_equal(tc.preferred_bin, [2, 0])
    np.testing.assert_allclose(tc.peak_rate_hz, [10.0, 5.0])
    np.testing.assert_allclose(tc.preferred_value, [2.5, 0.5])
    np.testing.assert_array_equal(tc.n_spikes_without_value, [0, 1])
    assert "any spike" in tc.definition and "occupancy" in tc.definitions
    # a window: spikes and occupancy of [200, 600) only
    tw = tuning_curves(rec, "x", bins=[0.0, 1.0, 2.0, 3.0, 4.0], active=(200.0, 600.0))
    np.testing.assert_allclose(tw.occupancy_s, [0.1, 0.1, 0.2, 0.0])
    np.testing.assert_array_equal(tw.counts[0], [0, 0, 3, 0])
    with pytest.raises(ValueError, match="active"):
        tuning_curves(rec, "x", active="before_decision")
    with pytest.raises(ValueError, match="signal"):
        tuning_curves(rec, "y")


def test_irregular_hold_and_trials():
    # irregular samples: each holds to the next; the last of a trial holds the median interval (of 100 and 950 ms:
    # 525 ms), cut at the trial's end
    x = Signal(np.array([0.0, 1.0, 0.0, 1.0]), [0, 0, 1, 1], [100.0, 200.0, 0.0, 950.0])
    rec = _record([50.0, 150.0, 250.0, 960.0, 10.0], [0, 0, 0, 0, 0], x, trials=[0, 0, 0, 1, 1])
    tc = tuning_curves(rec, "x", bins=[-0.5, 0.5, 1.5])
    np.testing.assert_allclose(tc.occupancy_s, [0.1 + 0.95, 0.525 + 0.05])  # trial 1's last sample: 50 ms to its end
    np.testing.assert_array_equal(tc.counts[0], [2, 2])  # 50 ms in trial 0 precedes its first sample: no value
    np.testing.assert_array_equal(tc.n_spikes_without_value, [1])


def _place_and_poisson(seed=0):
    rng = np.random.default_rng(seed)
    rate, dur = 20.0, 120_000.0  # 2 min at 20 Hz
    n = int(dur * rate / 1000)
    x = np.abs(((np.arange(n) * 0.013) % 2.0) - 1.0)  # back and forth on a 1 m track
    t = np.arange(n) * 50.0
    field = (x >= 0.4) & (x < 0.5)
    place = np.sort(np.concatenate([t[k] + rng.uniform(0, 50, rng.poisson(1.0)) for k in np.flatnonzero(field)]))
    poisson = np.sort(rng.uniform(0, dur, 600))
    times = np.concatenate([place, poisson])
    units = np.repeat([0, 1], [place.size, poisson.size])
    return _record(times, units, Signal.regular(x, rate, 0.0, unit="m"), duration=dur)


def test_information_place_cell_and_poisson():
    rec = _place_and_poisson()
    info = signal_information(rec, "x", bins=10, value_range=(0.0, 1.0), n_shuffles=99, seed=1)
    assert info.tuning.preferred_bin[0] == 4  # the field [0.4, 0.5)
    assert info.bits_per_spike[0] > 2.0 and info.p_value[0] == pytest.approx(0.01)  # (0 + 1) / (99 + 1)
    assert info.bits_per_spike[1] < 0.1 and info.p_value[1] > 0.05
    assert info.bits_per_s[0] == pytest.approx(info.bits_per_spike[0] * info.tuning.n_spikes_counted[0] / 120.0, rel=1e-9)
    assert info.p_value[1] >= 1 / 100 and np.all(info.p_value <= 1)
    again = signal_information(rec, "x", bins=10, value_range=(0.0, 1.0), n_shuffles=99, seed=1)
    np.testing.assert_array_equal(again.p_value, info.p_value)  # seeded


def test_skaggs_by_hand():
    # occupancy 1 s and 3 s; rates 4 Hz and 0 Hz: mean 1 Hz; I = 0.25 * 4 * log2(4) = 2 bits/s, 2 bits/spike
    bits_spike, bits_s = skaggs_information(np.array([[4.0, 0.0], [3.0, 9.0]]), np.array([1.0, 3.0]))
    np.testing.assert_allclose(bits_s, [2.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(bits_spike, [2.0, 0.0], atol=1e-15)


def test_sta_against_numpy():
    rng = np.random.default_rng(3)
    rate, n = 1000.0, 400  # 1 kHz: sample k at t0 + k ms, two trials with their own first-sample times
    v = rng.normal(size=(2 * n, 2))
    sig = Signal.regular(v, rate, [0.25, 0.5], trials=[0, 1], counts=[n, n], unit="mV")
    times = np.array([1.0, 50.3, 120.7, 399.0, 7.9, 200.2, 300.0])  # 1.0 and 399.0: window leaves the samples
    trials = np.array([0, 0, 0, 0, 1, 1, 1])
    rec = _record(times, np.zeros(7, int), sig, trials=trials, duration=401.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        res = spike_triggered_average(rec, "x", window_ms=(5.0, 5.0))
    total, used = np.zeros((10, 2)), 0
    for t, r in zip(times, trials):
        t0 = (0.25, 0.5)[r]
        if t - 5.0 < t0 or t + 5.0 > t0 + n:
            continue
        start = int(np.floor((t - 5.0 - t0) * rate / 1000.0))
        total += v[r * n + start: r * n + start + 10]
        used += 1
    assert res.n_spikes_used[0] == used == 5 and res.n_spikes_unused[0] == 2
    np.testing.assert_allclose(res.sta[0], total / used, rtol=1e-12)
    np.testing.assert_allclose(res.lags_ms, np.arange(-5.0, 5.0, 1.0))
    irregular = Signal(np.zeros(3), [0, 0, 0], [0.0, 1.0, 3.0])
    with pytest.raises(ValueError, match="regularly sampled"):
        spike_triggered_average(_record([1.0], [0], irregular), "x", window_ms=(1.0, 1.0))


def test_report_tuning_section_only_when_named(tmp_path):
    from synsem_ephys.report import ReportOptions, write_report

    rec = _place_and_poisson()
    opts = ReportOptions(n_shuffles=20, complexity_trials=0)
    plain = write_report(rec, tmp_path / "plain", options=opts, progress=False)
    rep = write_report(rec, tmp_path / "sig", options=opts, progress=False, signal="x", signal_bins=10)
    import json

    s0, s1 = json.loads(plain.summary.read_text()), json.loads(rep.summary.read_text())
    assert "signal" not in s0 and "tuning" not in plain.figures and "Tuning to" not in plain.html.read_text()
    assert set(s1) - set(s0) == {"signal"} and rep.figures["tuning"].exists()
    assert s1["signal"]["rows"][0]["signal_preferred_bin"] == 4 and s1["signal"]["rows"][0]["signal_info_p_value"] < 0.1
    header = rep.units_csv.read_text().splitlines()[0]
    assert header.endswith("signal_bits_per_s,signal_info_p_value") and "signal" not in plain.units_csv.read_text()
    assert "Tuning to x" in rep.html.read_text()


def test_cli_signal_error(tmp_path, capsys):
    from synsem_ephys.cli import main
    from synsem_ephys.io import write_nix

    rec = _place_and_poisson()
    write_nix(rec, tmp_path / "r.nix")
    code = main(["analyze", str(tmp_path / "r.nix"), "--out", str(tmp_path / "out"), "--signal", "speed",
                 "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("synsem-ephys analyze: error: --signal:") and "['x']" in err[0] and "'speed'" in err[0]
