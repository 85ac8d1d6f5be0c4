"""Reading NWB files built to the standard with pynwb's own API (not only the DANDI:000006 layout).

The file made here has an electrodes table, two electrode groups, units with ``electrodes``,
``electrode_group``, ``obs_intervals``, ``waveform_mean`` and scalar columns, a trials table with string,
float and bool columns, epochs with tags, a custom TimeIntervals table, an acquisition TimeSeries of lick
times, a processing module with a SpatialSeries and a BehavioralEvents series of ripples, and an
EventsTable. Every trial assignment is checked against a brute-force loop over the windows.
"""

import datetime

import numpy as np
import pytest

pynwb = pytest.importorskip("pynwb")

from helpers import ephys_dir  # noqa: E402
from synsem_ephys.adapters.nwb import load_nwb  # noqa: E402
from synsem_ephys.errors import DataFormatError  # noqa: E402
from synsem_ephys.io import read_nwb  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

T0 = datetime.datetime(2021, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)
RIPPLES = np.array([5.0, 5.2, 30.0, 61.0])  # s; the first two windows of 500 ms overlap
LICKS = np.array([1.0, 12.5, 12.0, 44.0, 99.0])  # not sorted, as in DANDI:000006
TRIAL_STOP_S = 8.0


def _spikes():
    rng = np.random.default_rng(3)
    out = [np.sort(rng.random(n) * 100.0) for n in (40, 25, 0, 30)]
    out[0] = np.sort(np.concatenate([out[0], [10.0, 18.0, 5.0, 5.1]]))  # on a trial start / stop, in 2 ripples
    return out


def make_file(path, *, trials=True, units_in_module=False):
    """A standard NWB file written with pynwb's API (see the module docstring)."""
    from pynwb.behavior import BehavioralEvents, Position, SpatialSeries
    from pynwb.epoch import TimeIntervals
    from pynwb.event import EventsTable
    from pynwb.file import Subject
    from pynwb.misc import Units

    nwb = pynwb.NWBFile(session_description="standard test file", identifier="std-1", session_start_time=T0,
                        subject=Subject(subject_id="m1", species="Mus musculus", sex="F", age="P90D"),
                        experimenter=["Doe, Jane"], institution="Nowhere", keywords=["test"])
    dev = nwb.create_device(name="probe", description="a probe")
    groups = [nwb.create_electrode_group(name=f"shank{k}", description=f"shank {k}", location=loc, device=dev)
              for k, loc in enumerate(("CA1", "CA3"))]
    for i in range(4):
        nwb.add_electrode(x=0.0, y=float(i), z=0.0, location="CA1" if i < 2 else "CA3", group=groups[i // 2])
    units = Units(name="units", description="sorted units", electrode_table=nwb.electrodes) if units_in_module \
        else None
    add = units.add_unit if units_in_module else nwb.add_unit
    for c, d in (("quality", "sorting quality"), ("depth", "depth (um)"), ("cell_type", "putative type")):
        (units.add_column if units_in_module else nwb.add_unit_column)(name=c, description=d)
    rng = np.random.default_rng(0)
    for u, st in enumerate(_spikes()):
        add(spike_times=st, electrodes=[u % 4, (u + 1) % 4], electrode_group=groups[u // 2],
            obs_intervals=[[0.0, 50.0], [60.0, 100.0]], waveform_mean=rng.random((30, 2)),
            quality=["good", "mua"][u % 2], depth=100.0 * u, cell_type=["pyr", "int"][u % 2], id=10 + u)
    if units_in_module:
        nwb.create_processing_module(name="ecephys", description="spike sorting").add(units)
    if trials:
        nwb.add_trial_column(name="stim", description="stimulus name")
        nwb.add_trial_column(name="contrast", description="stimulus contrast")
        nwb.add_trial_column(name="is_correct", description="correct response")
        for r in range(5):
            nwb.add_trial(start_time=10.0 * r, stop_time=10.0 * r + TRIAL_STOP_S, stim=["a", "b"][r % 2],
                          contrast=0.1 * r, is_correct=bool(r % 3))
    nwb.add_epoch(start_time=0.0, stop_time=50.0, tags=["wake"])
    nwb.add_epoch(start_time=50.0, stop_time=100.0, tags=["sleep", "rem"])
    iv = TimeIntervals(name="stim_blocks", description="blocks of stimulation")
    iv.add_column(name="power", description="laser power (mW)")
    iv.add_interval(start_time=20.0, stop_time=30.0, power=1.5)
    iv.add_interval(start_time=70.0, stop_time=80.0, power=3.0)
    nwb.add_time_intervals(iv)
    nwb.add_acquisition(pynwb.TimeSeries(name="licks", data=np.ones(LICKS.size), unit="n.a.", timestamps=LICKS,
                                         description="lick contacts"))
    beh = nwb.create_processing_module(name="behavior", description="behaviour")
    pos = Position(name="position")
    pos.add_spatial_series(SpatialSeries(name="xy", data=rng.random((330, 2)), reference_frame="arena corner",
                                         rate=3.0, starting_time=0.0, description="head position"))
    beh.add(pos)  # 330 samples at 3 Hz: the session lasts until 110 s, after the last spike
    ev = BehavioralEvents(name="ripple_events")
    ev.add_timeseries(pynwb.TimeSeries(name="ripples", data=np.arange(RIPPLES.size, dtype=float), unit="n.a.",
                                       timestamps=RIPPLES, description="sharp-wave ripples"))
    beh.add(ev)
    rewards = EventsTable(name="rewards", description="water rewards")
    rewards.add_column(name="kind", description="reward size")
    for t, k in ((3.0, "small"), (14.0, "large"), (15.0, "small")):
        rewards.add_event(timestamp=t, kind=k)
    nwb.add_events_table(rewards)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.fixture(scope="module")
def std_file(tmp_path_factory):
    return make_file(tmp_path_factory.mktemp("nwb") / "standard.nwb")


@pytest.fixture(scope="module")
def std(std_file):
    """The standard file, opened once (read_nwb takes an open NWBFile; opening costs ~0.2 s)."""
    with pynwb.NWBHDF5IO(str(std_file), "r") as io:
        yield io.read()


def load(nwb, **options):
    """read_nwb with load_nwb's defaults, on an open file."""
    return read_nwb(nwb, **{"label_column": "auto", "population_column": "auto", **options})


def _brute(windows_ms, spikes_s):
    """{(unit, trial): sorted trial-relative times} by a loop over windows and units."""
    out = {}
    for r, (a, b) in enumerate(windows_ms):
        for u, st in enumerate(spikes_s):
            t = st * 1000.0
            sel = t[(t >= a) & (t < b)]
            if sel.size:
                out[(u, r)] = np.sort(sel - a)
    return out


def _by_unit_trial(rec):
    out = {}
    for u, r in set(zip(rec.unit_index.tolist(), rec.trial_index.tolist())):
        out[(u, r)] = np.sort(rec.times_ms[(rec.unit_index == u) & (rec.trial_index == r)])
    return out


def _same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-9, err_msg=str(k))


# ---------------------------------------------------------------------- units
def test_units_with_electrodes_groups_obs_intervals_and_waveforms(std_file, std):
    rec = load_nwb(std_file)
    assert rec.n_units == 4 and rec.units.name.tolist() == ["unit10", "unit11", "unit12", "unit13"]
    cols = rec.units.columns
    assert cols["electrode_group"].tolist() == ["shank0", "shank0", "shank1", "shank1"]
    assert cols["quality"].tolist() == ["good", "mua", "good", "mua"]
    np.testing.assert_array_equal(cols["depth"], [0.0, 100.0, 200.0, 300.0])
    np.testing.assert_array_equal(cols["unit_id"], [10, 11, 12, 13])
    assert rec.units.population.tolist() == ["pyr", "int", "pyr", "int"]  # "auto": cell_type
    assert cols["source_cell_type"].tolist() == ["pyr", "int", "pyr", "int"]
    skipped = rec.meta["skipped_unit_columns"]
    assert set(skipped) == {"electrodes", "obs_intervals", "waveform_mean"}
    assert "electrodes" in skipped["electrodes"] and "ragged" in skipped["obs_intervals"]
    assert "(4, 30, 2)" in skipped["waveform_mean"]
    assert rec.meta["descriptions"]["units.depth"] == "depth (um)"
    by_group = load(std, population_column="electrode_group")
    assert by_group.units.population.tolist() == ["shank0", "shank0", "shank1", "shank1"]
    assert read_nwb(std).units.population.tolist() == ["units"] * 4  # read_nwb: no population unless asked


def test_population_column_errors(std):
    with pytest.raises(ValueError, match=r"population_column: expected a scalar column of the Units table among "
                                         r"\['cell_type', 'depth', 'electrode_group', 'quality'\].*'layer'"):
        load(std, population_column="layer")
    with pytest.raises(ValueError, match=r"population_column: .*'waveform_mean' is multi-dimensional"):
        load(std, population_column="waveform_mean")


def test_units_table_in_a_processing_module(tmp_path):
    path = make_file(tmp_path / "mod.nwb", units_in_module=True)
    rec = load_nwb(path, units="ecephys/units")
    assert rec.n_units == 4 and rec.meta["units_table"] == "processing/ecephys/units"
    assert load_nwb(path).n_spikes == rec.n_spikes  # the only Units table of the file
    with pytest.raises(ValueError, match=r"units: expected the name or path of a Units.*'nope'"):
        load_nwb(path, units="nope")


# ---------------------------------------------------------------------- trials
def test_trials_table_with_string_float_and_bool_columns(std_file):
    rec = load_nwb(std_file, label_column="stim")
    assert rec.n_trials == 5 and rec.trials.label_names == ("a", "b")
    np.testing.assert_array_equal(rec.trials.label, [0, 1, 0, 1, 0])
    c = rec.trials.columns
    assert c["stim"].tolist() == ["a", "b", "a", "b", "a"] and c["is_correct"].dtype == bool
    np.testing.assert_allclose(c["contrast"], 0.1 * np.arange(5))
    np.testing.assert_array_equal(c["source_start_ms"], 10_000.0 * np.arange(5))
    np.testing.assert_array_equal(c["duration_ms"], np.full(5, 8000.0))
    assert rec.meta["trials_source"] == "intervals/trials" and rec.meta["skipped_trial_columns"] == {}
    spikes = _spikes()
    windows = [(10_000.0 * r, 10_000.0 * r + 8000.0) for r in range(5)]
    _same(_by_unit_trial(rec), _brute(windows, spikes))
    inside = sum(len(v) for v in _brute(windows, spikes).values())
    assert rec.n_spikes == inside and rec.meta["n_spikes_outside_trials"] == sum(map(len, spikes)) - inside > 0
    t, r = rec.spikes_of(0)
    assert 0.0 in t[r == 1].tolist()  # the spike at 10 s starts trial 1
    assert 8000.0 not in t.tolist()  # the one at 18 s = the stop of trial 1 belongs to no trial
    assert rec.meta["session_start_time"] == T0.isoformat() and rec.meta["identifier"] == "std-1"
    assert rec.meta["subject"] == {"subject_id": "m1", "species": "Mus musculus", "sex": "F", "age": "P90D"}


def test_epochs_and_custom_intervals_as_trials(std):
    ep = load(std, trials="epochs", label_column="tags")
    assert ep.n_trials == 2 and ep.trials.label_names == ("sleep,rem", "wake")
    np.testing.assert_array_equal(ep.trials.label, [1, 0])
    assert ep.meta["trials_source"] == "intervals/epochs" and "tags" in ep.meta["skipped_trial_columns"]
    _same(_by_unit_trial(ep), _brute([(0.0, 50_000.0), (50_000.0, 100_000.0)], _spikes()))
    for name in ("stim_blocks", "intervals/stim_blocks"):
        blocks = load(std, trials=name)
        assert blocks.n_trials == 2 and blocks.trials.label_names == ()
        np.testing.assert_array_equal(blocks.trials.columns["power"], [1.5, 3.0])
        _same(_by_unit_trial(blocks), _brute([(20_000.0, 30_000.0), (70_000.0, 80_000.0)], _spikes()))


def test_trials_and_label_arguments_are_checked(std):
    with pytest.raises(ValueError, match=r"trials: expected the name or path of a TimeIntervals.*"
                                         r"'intervals/epochs', 'intervals/stim_blocks', 'intervals/trials'.*'trial'"):
        load(std, trials="trial")
    with pytest.raises(ValueError, match=r"label_column: expected a scalar column of intervals/trials among "
                                         r"\['contrast', 'is_correct', 'stim'\], 'tags' or None; got 'kind'"):
        load(std, label_column="kind")
    with pytest.raises(ValueError, match="trials: expected None, False or the name"):
        load(std, trials=3)
    with pytest.raises(ValueError, match="trials: expected None when align is given"):
        load(std, trials="epochs", align="ripples", window_ms=(1.0, 1.0))
    with pytest.raises(ValueError, match="window_ms: expected window_ms=.*together with align"):
        load(std, align="ripples")
    with pytest.raises(ValueError, match="align: expected window_ms=.*together with align"):
        load(std, window_ms=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"window_ms: expected \(pre, post\) >= 0 ms.*\(-100.0, 500.0\)"):
        load(std, align="ripples", window_ms=(-100.0, 500.0))
    with pytest.raises(ValueError, match="align: expected the name or path of a TimeIntervals, EventsTable or "
                                         "TimeSeries.*'processing/behavior/ripple_events/ripples'.*'ripple'"):
        load(std, align="ripple", window_ms=(1.0, 1.0))


def test_zero_length_intervals_cannot_be_trials(tmp_path):
    nwb = pynwb.NWBFile(session_description="x", identifier="z", session_start_time=T0)
    nwb.add_unit(spike_times=[1.0, 2.0])
    nwb.add_trial(start_time=1.0, stop_time=1.0)
    nwb.add_trial(start_time=3.0, stop_time=4.0)
    with pynwb.NWBHDF5IO(str(tmp_path / "z.nwb"), "w") as io:
        io.write(nwb)
    with pytest.raises(DataFormatError, match=r"trials: expected intervals with stop_time > start_time in "
                                              r"intervals/trials; got 1 of zero.*align='trials', window_ms"):
        load_nwb(tmp_path / "z.nwb")
    rec = load_nwb(tmp_path / "z.nwb", align="trials", window_ms=(0.0, 500.0))
    assert rec.n_trials == 2 and rec.n_spikes == 1


def test_no_trials_table_is_one_trial_spanning_the_session(std, tmp_path):
    path = make_file(tmp_path / "notrials.nwb", trials=False)
    rec = load_nwb(path)
    assert rec.n_trials == 1 and rec.meta["trials_source"] == "session"
    # from 0 to the end of the last time series (330 samples at 3 Hz = 110 s), not to the last spike (< 100 s)
    assert rec.meta["session_window_ms"][0] == 0.0
    assert 110_000.0 <= rec.trial_duration_ms <= np.nextafter(110_000.0, np.inf)
    spikes = _spikes()
    assert rec.n_spikes == sum(map(len, spikes)) and rec.meta["n_spikes_outside_trials"] == 0
    _same(_by_unit_trial(rec), _brute([(0.0, 110_001.0)], spikes))
    forced = load(std, trials=False)  # a file with trials, read as one session
    assert forced.n_trials == 1 and forced.n_spikes == rec.n_spikes


def test_session_starts_at_the_earliest_time_when_negative(tmp_path):
    nwb = pynwb.NWBFile(session_description="x", identifier="neg", session_start_time=T0)
    nwb.add_unit(spike_times=[0.5, 2.0])
    nwb.add_acquisition(pynwb.TimeSeries(name="ttl", data=np.ones(2), unit="n.a.", timestamps=[-1.5, 3.0],
                                         description="ttl"))
    with pynwb.NWBHDF5IO(str(tmp_path / "neg.nwb"), "w") as io:
        io.write(nwb)
    rec = load_nwb(tmp_path / "neg.nwb")
    assert rec.meta["session_window_ms"][0] == -1500.0 and rec.trial_duration_ms == pytest.approx(4500.0)
    np.testing.assert_allclose(np.sort(rec.times_ms), [2000.0, 3500.0])
    np.testing.assert_allclose(np.sort(rec.events["ttl"].times_ms), [0.0, 4500.0 - 1e-9], atol=1e-8)


# ---------------------------------------------------------------------- aligned windows
def test_overlapping_windows_around_ripples_in_a_processing_module(std):
    rec = load(std, align="ripples", window_ms=(100.0, 400.0))
    assert rec.n_trials == RIPPLES.size and rec.trial_duration_ms == 500.0
    assert rec.meta["align"] == "processing/behavior/ripple_events/ripples" and rec.meta["window_ms"] == [100.0, 400.0]
    windows = [(t * 1000.0 - 100.0, t * 1000.0 + 400.0) for t in RIPPLES]
    spikes = _spikes()
    brute = _brute(windows, spikes)
    _same(_by_unit_trial(rec), brute)
    # the spikes at 5.1 s lie in the windows of the ripples at 5.0 s and 5.2 s: both trials hold them
    t, r = rec.spikes_of(0)  # windows [4900, 5400) and [5100, 5600) ms
    assert np.isclose(t[r == 0], 200.0).any() and np.isclose(t[r == 1], 0.0).any()
    assert rec.meta["n_spikes_in_several_trials"] >= 1
    n_all = sum(map(len, spikes))
    in_any = len({(u, x) for u, st in enumerate(spikes) for x in st
                  if any(a <= x * 1000.0 < b for a, b in windows)})
    assert rec.meta["n_spikes_outside_trials"] == n_all - in_any
    np.testing.assert_array_equal(rec.trials.columns["align_ms"], np.full(4, 100.0))
    np.testing.assert_array_equal(rec.trials.columns["source_start_ms"], RIPPLES * 1000.0 - 100.0)


def test_windows_around_unsorted_licks_with_labels_from_an_events_table(std):
    licks = load(std, align="acquisition/licks", window_ms=(0.0, 1000.0))
    order = np.argsort(LICKS, kind="stable")
    np.testing.assert_array_equal(licks.trials.columns["source_row"], order)  # windows sorted by time
    _same(_by_unit_trial(licks), _brute([(t * 1000.0, t * 1000.0 + 1000.0) for t in LICKS[order]], _spikes()))
    rewards = load(std, align="rewards", window_ms=(500.0, 500.0), label_column="kind")
    assert rewards.trials.label_names == ("large", "small")
    np.testing.assert_array_equal(rewards.trials.label, [1, 0, 1])
    # reward windows [2.5, 3.5), [13.5, 14.5), [14.5, 15.5) s hold no lick
    assert rewards.meta["n_events_outside_trials"]["licks"] == LICKS.size
    with pytest.raises(ValueError, match=r"label_column: expected None or 'data'"):
        load(std, align="licks", window_ms=(0.0, 1.0), label_column="kind")
    by_value = load(std, align="ripples", window_ms=(0.0, 1.0), label_column="data")
    assert by_value.trials.label_names == ("0.0", "1.0", "2.0", "3.0")


def test_windows_aligned_to_trial_starts_keep_the_trial_columns(std):
    assert load(std, align="trials", window_ms=(2000.0, 3000.0)).trials.label_names == ()  # no LABEL_COLUMNS
    rec = load(std, align="trials", window_ms=(2000.0, 3000.0), label_column="stim")
    assert rec.trials.label_names == ("a", "b") and rec.trials.columns["stim"].tolist() == ["a", "b", "a", "b", "a"]
    np.testing.assert_allclose(rec.trials.columns["contrast"], 0.1 * np.arange(5))
    _same(_by_unit_trial(rec), _brute([(10_000.0 * r - 2000.0, 10_000.0 * r + 3000.0) for r in range(5)], _spikes()))


# ---------------------------------------------------------------------- events
def test_events_from_acquisition_processing_and_events_tables(std):
    rec = load(std)
    assert set(rec.events) == {"licks", "ripples", "rewards"}  # not the SpatialSeries
    assert rec.meta["event_sources"] == {"licks": "acquisition/licks", "rewards": "events/rewards",
                                         "ripples": "processing/behavior/ripple_events/ripples"}
    ev = rec.events["licks"]
    pairs = sorted(zip(ev.trial_index.tolist(), np.round(ev.times_ms, 6).tolist()))
    assert pairs == [(0, 1000.0), (1, 2000.0), (1, 2500.0), (4, 4000.0)]
    assert rec.meta["n_events_outside_trials"] == {"licks": 1, "ripples": 1}  # 99 s, 61 s
    only = load(std, events=["rewards"])
    assert set(only.events) == {"rewards"}
    assert load(std, events=False).events == {}
    with pytest.raises(ValueError, match="events: expected the name or path of an EventsTable or TimeSeries"):
        load(std, events=["nothing"])


# ---------------------------------------------------------------------- the shared DANDI files
DANDI = ("sub-anm369963_ses-20170228.nwb", "sub-anm372793_ses-20170508.nwb")


@pytest.mark.parametrize("fname", DANDI)
def test_dandi_session_trials_windows_and_session(fname):
    path = ephys_dir() / "dandi000006" / fname
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        spikes = np.asarray(nwb.units.spike_times.data[:])
        starts = np.asarray(nwb.trials.start_time.data[:])
        left = np.sort(np.asarray(nwb.acquisition["lick_times"]["lick_left_times"].timestamps[:]))
        right = np.asarray(nwb.acquisition["lick_times"]["lick_right_times"].timestamps[:])
    rec = load_nwb(path)
    assert rec.meta["skipped_unit_columns"] == {"electrodes": "ragged references to rows of electrodes"}
    io = pynwb.NWBHDF5IO(str(path), "r")
    nwb = io.read()
    stops = np.append(starts[1:], starts[-1] + np.diff(starts).max())
    _same(_by_unit_trial(rec), _brute(list(zip(starts * 1000.0, stops * 1000.0)), [spikes]))
    win = load(nwb, align="lick_left_times", window_ms=(200.0, 300.0))
    assert win.n_trials == left.size and win.trials.label_names == ()
    _same(_by_unit_trial(win), _brute([(t * 1000.0 - 200.0, t * 1000.0 + 300.0) for t in left], [spikes]))
    assert win.meta["n_spikes_in_several_trials"] > 0  # licks come faster than every 500 ms
    whole = load(nwb, trials=False)
    io.close()
    assert whole.n_spikes == spikes.size and whole.meta["n_spikes_outside_trials"] == 0
    end = max(spikes.max(), left.max(), right.max(), starts.max())
    assert whole.trial_duration_ms == pytest.approx(end * 1000.0, abs=1e-6)  # here the last spike is the latest time


def test_a_file_written_by_spikeinterfaces_nwb_export(tmp_path):
    """tests/data/spikeinterface_export.nwb: a NumpySorting (5 units at 30 kHz, properties quality and depth_um)
    written by neuroconv's write_sorting_to_nwbfile, SpikeInterface's documented NWB exporter (regenerate with
    tests/data/make_spikeinterface_nwb.py). Read without trials: one trial spanning the session, said so."""
    from pathlib import Path

    import h5py

    from synsem_ephys.io import write_nwb

    path = Path(__file__).resolve().parents[1] / "data" / "spikeinterface_export.nwb"
    rec = load_nwb(path, population_column="quality")
    with h5py.File(path, "r") as f:
        ends = f["units/spike_times_index"][:]
        flat = f["units/spike_times"][:]
        names = [v.decode() for v in f["units/unit_name"][:]]
    assert rec.n_units == 5 and rec.n_trials == 1 and rec.meta["trials_source"] == "session"
    assert rec.units.name.tolist() == names == ["#0", "#1", "#2", "#3", "#4"]  # the file's unit_name column
    assert sorted(set(rec.units.population)) == ["good", "mua", "noise"]
    np.testing.assert_allclose(rec.units.columns["depth_um"], [120.0, 240.0, 360.0, 480.0, 600.0])
    for u, (a, b) in enumerate(zip(np.r_[0, ends[:-1]], ends)):  # every spike, on the file's clock
        got = np.sort(rec.times_ms[rec.unit_index == u] + rec.trials.columns["source_start_ms"][0])
        np.testing.assert_allclose(got, np.sort(flat[a:b]) * 1000.0, rtol=0, atol=1e-9)
    assert rec.n_spikes == flat.size and rec.meta.get("n_spikes_outside_trials", 0) == 0
    back = read_nwb(write_nwb(rec, tmp_path / "again.nwb"))
    assert back.units.name.tolist() == names and back.n_spikes == rec.n_spikes
