"""Record signals through every format: NWB files written here with pynwb's own API (TimeSeries with rate and
with timestamps, SpatialSeries in Position / CompassDirection containers of a processing module), Neo Blocks
with AnalogSignals and IrregularlySampledSignals, round trips Neo / NIX / NWB bit for bit, slicing by trials,
and the DANDI sessions of the shared data."""

import datetime
import warnings

import numpy as np
import pytest

from synsem_ephys.io import from_block, read_nix_record, read_nwb, to_block, trial_view, write_nix, write_nwb
from synsem_ephys.io.layout import assert_block_follows_layout
from synsem_ephys.record import Signal, SpikeRecord, TrialTable, UnitTable

from helpers import assert_records_equal, ephys_dir

pynwb = pytest.importorskip("pynwb")


def make_nwb(path, seed=0, n_trials=8):
    """A session of 20 s: 3 units, trials, position (50 Hz, 2-D SpatialSeries in processing/behavior/Position),
    head direction (SpatialSeries with timestamps in CompassDirection), an int16 stimulus waveform at 1 kHz
    with a conversion factor, a 2-D irregular series in acquisition and licks as BehavioralEvents."""
    from pynwb.behavior import BehavioralEvents, CompassDirection, Position, SpatialSeries

    rng = np.random.default_rng(seed)
    nwb = pynwb.NWBFile(session_description="signals test", identifier="sig-test",
                        session_start_time=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
    n = 1000
    xy = np.column_stack([np.linspace(0, 1, n), rng.random(n)])
    behavior = nwb.create_processing_module("behavior", "behaviour")
    behavior.add(Position(name="Position", spatial_series=SpatialSeries(
        name="position", data=xy, reference_frame="arena corner", unit="meters", rate=50.0, starting_time=0.0,
        description="animal position")))
    behavior.add(CompassDirection(name="CompassDirection", spatial_series=SpatialSeries(
        name="head_direction", data=rng.uniform(-np.pi, np.pi, 300), timestamps=np.sort(rng.uniform(0, 20, 300)),
        reference_frame="north", unit="radians")))
    licks = pynwb.TimeSeries(name="licks", data=np.ones(40), unit="a.u.", timestamps=np.sort(rng.uniform(0, 20, 40)))
    with warnings.catch_warnings():  # pynwb deprecates BehavioralEvents; files hold them (DANDI:000006 does)
        warnings.simplefilter("ignore", UserWarning)
        behavior.add(BehavioralEvents(name="BehavioralEvents", time_series=licks))
    nwb.add_acquisition(pynwb.TimeSeries(name="stimulus_waveform", data=(1000 * np.sin(np.arange(20000) / 50.0)).astype(
        np.int16), unit="V", rate=1000.0, starting_time=0.0, conversion=1e-3, description="command voltage"))
    nwb.add_acquisition(pynwb.TimeSeries(name="pupil", data=rng.random((200, 2)), unit="a.u.",
                                         timestamps=np.sort(rng.uniform(0, 20, 200))))
    for k in range(3):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, 20, 100 + 10 * k)))
    nwb.add_trial_column("type", "trial type")
    for k in range(n_trials):
        nwb.add_trial(start_time=2.0 * k + 1.0, stop_time=2.0 * k + 2.5, type="left" if k % 2 else "right")
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.fixture(scope="module")
def nwb_path(tmp_path_factory):
    return make_nwb(tmp_path_factory.mktemp("nwb") / "session.nwb")


def assert_signals_equal(a, b):
    assert list(a.signals) == list(b.signals)
    for k in a.signals:
        x, y = a.signals[k], b.signals[k]
        assert x.values.dtype == y.values.dtype, k
        np.testing.assert_array_equal(x.values, y.values, err_msg=k)
        np.testing.assert_array_equal(x.times_ms, y.times_ms, err_msg=k)
        np.testing.assert_array_equal(x.trial_index, y.trial_index, err_msg=k)
        assert (x.sampling_rate_hz, x.unit, x.channel_names, x.kind, x.attrs, x.description) == (
            y.sampling_rate_hz, y.unit, y.channel_names, y.kind, y.attrs, y.description), k


def test_default_reads_no_signal_and_all_reads_every_continuous_series(nwb_path):
    assert read_nwb(nwb_path).signals == {}
    rec = read_nwb(nwb_path, signals="all")
    assert sorted(rec.signals) == ["head_direction", "position", "pupil", "stimulus_waveform"]  # licks: events
    assert "licks" in rec.events
    pos = rec.signals["position"]
    assert pos.kind == "SpatialSeries" and pos.unit == "meters" and pos.sampling_rate_hz == 50.0
    assert pos.attrs == {"nwb_path": "processing/behavior/Position/position", "nwb_container": "Position",
                         "reference_frame": "arena corner"}
    assert pos.values.shape[1] == 2
    # trial r = [1 + 2r, 2.5 + 2r) s: 75 samples at 50 Hz starting exactly at the trial start
    for r in range(rec.n_trials):
        t, v = pos.piece(r)
        assert t.size == 75 and t[0] == 0.0
        np.testing.assert_allclose(v[:, 0], np.linspace(0, 1, 1000)[50 + 100 * r: 125 + 100 * r])
    assert rec.meta["n_signal_samples_outside_trials"]["position"] == 1000 - 8 * 75
    stim = rec.signals["stimulus_waveform"]  # int16 * conversion: volts
    np.testing.assert_allclose(stim.piece(0)[1][:3], 1e-3 * (1000 * np.sin(np.arange(1000, 1003) / 50.0)).astype(np.int16))
    assert rec.signals["head_direction"].sampling_rate_hz is None and rec.signals["pupil"].values.shape[1] == 2


def test_named_series_are_signals_not_events(nwb_path):
    rec = read_nwb(nwb_path, signals=["licks", "position"])
    assert sorted(rec.signals) == ["licks", "position"] and "licks" not in rec.events
    with pytest.raises(ValueError, match="signals"):
        read_nwb(nwb_path, signals=["no_such_series"])
    with pytest.raises(ValueError, match="signals"):
        read_nwb(nwb_path, signals="position")


def test_nwb_round_trip_exact(nwb_path, tmp_path):
    rec = read_nwb(nwb_path, signals="all")
    write_nwb(rec, tmp_path / "a.nwb")
    back = read_nwb(tmp_path / "a.nwb")
    assert_records_equal(rec, back)
    assert_signals_equal(rec, back)
    write_nwb(back, tmp_path / "b.nwb")
    assert_signals_equal(rec, read_nwb(tmp_path / "b.nwb"))
    with pynwb.NWBHDF5IO(str(tmp_path / "a.nwb"), "r") as io:  # written back where it came from, on the file's clock
        nwb = io.read()
        pos = nwb.processing["behavior"]["Position"]["position"]
        assert type(pos).__name__ == "SpatialSeries" and pos.reference_frame == "arena corner"
        t = pos.timestamps[:]  # 8 trials with gaps: timestamps, at the source's sample times
        assert t.size == 600
        np.testing.assert_allclose(t[:2], [1.0, 1.02])
    assert read_nwb(tmp_path / "a.nwb", signals=False).signals == {}


def test_session_trial_keeps_a_regular_series_regular(nwb_path, tmp_path):
    rec = read_nwb(nwb_path, trials=False, signals=["position"])
    assert rec.n_trials == 1 and rec.signals["position"].n_samples == 1000
    write_nwb(rec, tmp_path / "s.nwb")
    with pynwb.NWBHDF5IO(str(tmp_path / "s.nwb"), "r") as io:
        pos = io.read().processing["behavior"]["Position"]["position"]
        assert pos.rate == 50.0 and pos.timestamps is None
    assert_signals_equal(rec, read_nwb(tmp_path / "s.nwb"))


def test_overlapping_windows_copy_samples_and_write_them_once(nwb_path, tmp_path):
    rec = read_nwb(nwb_path, align="intervals/trials", window_ms=(500.0, 1500.0), signals=["position"])
    pos = rec.signals["position"]  # windows of 2 s every 2 s from 0.5 s: [0.5, 2.5), [2.5, 4.5) ... no overlap
    assert pos.n_samples == 8 * 100
    rec = read_nwb(nwb_path, align="intervals/trials", window_ms=(1000.0, 2000.0), signals=["position"])
    assert rec.signals["position"].n_samples == 8 * 150  # 3 s windows every 2 s: shared samples copied
    write_nwb(rec, tmp_path / "o.nwb")
    with pynwb.NWBHDF5IO(str(tmp_path / "o.nwb"), "r") as io:
        assert io.read().processing["behavior"]["Position"]["position"].data.shape[0] == 7 * 100 + 150
    assert_signals_equal(rec, read_nwb(tmp_path / "o.nwb"))


def _record_with_signals():
    reg, _ = Signal.cut(np.random.default_rng(0).random((100, 2)), [5.0, 30.0, 35.0], [20.0, 50.0, 45.0],
                        t_start_ms=0.3, sampling_rate_hz=1000.0 / 0.7, unit="m", channel_names=("x", "y"),
                        kind="SpatialSeries", attrs={"reference_frame": "corner"})
    irr, _ = Signal.cut(np.arange(10), [0.0, 5.0, 12.0], [3.0, 9.0, 14.0], times_ms=np.arange(10.0) * 1.3, unit="a.u.")
    empty = Signal(np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0), 100.0, unit="V")
    return SpikeRecord([1.0, 2.0, 3.0], [0, 0, 1], [0, 2, 1], UnitTable.simple(2), TrialTable([0, 1, 0]), 20.0,
                       meta={"source": "test"}, signals={"pos": reg, "ev": irr, "silent": empty})


def test_block_and_nix_round_trip_exact(tmp_path):
    from neo.test.tools import assert_neo_object_is_compliant

    rec = _record_with_signals()
    block = to_block(rec)
    assert_neo_object_is_compliant(block)
    assert_block_follows_layout(block, rec)
    seg = block.segments[0]
    assert len(seg.analogsignals) == 3 and len(seg.irregularlysampledsignals) == 2  # one per signal and trial with samples
    assert_signals_equal(rec, from_block(block))
    write_nix(rec, tmp_path / "r.nix")
    back = read_nix_record(tmp_path / "r.nix")
    assert_records_equal(rec, back)
    assert_signals_equal(rec, back)
    write_nwb(rec, tmp_path / "r.nwb")
    assert_signals_equal(rec, read_nwb(tmp_path / "r.nwb"))


def test_records_without_signals_write_the_same_block():
    rec = _record_with_signals()
    plain = SpikeRecord(rec.times_ms, rec.unit_index, rec.trial_index, rec.units, rec.trials, rec.trial_duration_ms,
                        rec.meta)
    a, b = to_block(plain), to_block(rec)
    assert "signals_json" not in a.annotations and "signals_json" in b.annotations
    assert not a.segments[0].analogsignals and not a.segments[0].irregularlysampledsignals
    assert set(b.annotations) - set(a.annotations) == {"signals_json"}


def test_foreign_blocks_with_analog_signals():
    import neo
    import quantities as pq

    # one Segment per trial (PyNN's get_data()): the samples inside each trial, trial-relative
    block = neo.Block()
    for r in range(2):
        seg = neo.Segment()
        seg.spiketrains.append(neo.SpikeTrain([1.0, 3.0] * pq.s, t_start=r * 10 * pq.s, t_stop=(r * 10 + 5) * pq.s,
                                              name="n0") if r == 0 else
                               neo.SpikeTrain([12.0] * pq.s, t_start=10 * pq.s, t_stop=15 * pq.s, name="n0"))
        seg.analogsignals.append(neo.AnalogSignal(np.arange(12.0).reshape(6, 2), units="mV", sampling_rate=1 * pq.Hz,
                                                  t_start=(r * 10 - 0.5) * pq.s, name="vm"))
        block.segments.append(seg)
    rec = from_block(block)
    vm = rec.signals["vm"]
    assert vm.unit == "mV" and vm.sampling_rate_hz == 1.0 and vm.n_channels == 2
    np.testing.assert_array_equal(vm.piece(0)[0], [500.0, 1500.0, 2500.0, 3500.0, 4500.0])
    np.testing.assert_array_equal(vm.piece(1)[1][:, 0], [2.0, 4.0, 6.0, 8.0, 10.0])
    assert rec.meta["n_signal_samples_outside_trials"] == {"vm": 2}
    # a canonical-like Block of another tool: its signal on the Block's clock is cut by the Epoch "trials"
    ours = to_block(SpikeRecord([1.0], [0], [1], UnitTable.simple(1), TrialTable([0, 0]), 10.0))
    ours.segments[0].irregularlysampledsignals.append(neo.IrregularlySampledSignal(
        [0.5, 2.0, 10.5, 11.5, 12.0] * pq.ms, np.arange(5.0), units="V", time_units=pq.ms, name="lfp"))
    lfp = from_block(ours).signals["lfp"]
    np.testing.assert_array_equal(lfp.trial_index, [0, 0, 1, 1])
    np.testing.assert_allclose(lfp.times_ms, [0.5, 2.0, 0.5, 1.0])


def test_trials_slice_signals():
    rec = _record_with_signals()
    pos = rec.signals["pos"]
    sel = rec.select(trials=[2, 0])
    np.testing.assert_array_equal(sel.signals["pos"].piece(0)[1], pos.piece(2)[1])
    np.testing.assert_array_equal(sel.signals["pos"].piece(1)[0], pos.piece(0)[0])
    win = rec.window(2.0, 10.0)
    t, v = win.signals["pos"].piece(0)
    t0, v0 = pos.piece(0)
    keep = (t0 >= 2.0) & (t0 < 10.0)
    np.testing.assert_allclose(t, t0[keep] - 2.0, atol=1e-12)
    np.testing.assert_array_equal(v, v0[keep])
    assert win.signals["pos"].sampling_rate_hz == pos.sampling_rate_hz
    analog = trial_view(rec).signal(2, "pos")  # per-trial view: trial-relative, the same samples
    np.testing.assert_array_equal(analog.magnitude, pos.piece(2)[1])
    assert float(analog.t_start.rescale("ms").magnitude) == pos.piece(2)[0][0]
    assert trial_view(rec).signal(0, "silent") is None


def test_signal_checks():
    with pytest.raises(ValueError, match="signal.times_ms"):
        Signal(np.zeros(3), [0, 0, 0], [0.0, 1.0, 3.0], sampling_rate_hz=1000.0)  # not t0 + k / rate
    with pytest.raises(ValueError, match="signal.trial_index"):
        Signal(np.zeros(2), [1, 0], [0.0, 1.0])
    sig = Signal(np.zeros(2), [0, 0], [0.0, 25.0])
    with pytest.raises(ValueError, match=r"signals\['s'\].times_ms"):
        SpikeRecord([], [], [], UnitTable.simple(1), TrialTable([0]), 20.0, signals={"s": sig})


def test_dandi_session_signals(tmp_path):
    path = ephys_dir() / "dandi000006" / "sub-anm369963_ses-20170228.nwb"
    from synsem_ephys.adapters.nwb import load_nwb

    rec = load_nwb(path, signals="all")  # licks are BehavioralEvents: events, no continuous series in the file
    assert rec.signals == {} and sorted(rec.events) == ["lick_left_times", "lick_right_times"]
    rec = load_nwb(path, signals=["lick_left_times"])  # named: a signal; its timestamps are out of order in the file
    lick = rec.signals["lick_left_times"]
    assert lick.n_samples == 782 and lick.sampling_rate_hz is None and "lick_left_times" not in rec.events
    assert rec.meta["n_signal_timestamps_out_of_order"] == {"lick_left_times": 54}
    write_nwb(rec, tmp_path / "d.nwb")
    assert_signals_equal(rec, read_nwb(tmp_path / "d.nwb"))
