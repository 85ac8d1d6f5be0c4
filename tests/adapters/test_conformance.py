"""Conformance suite: every adapter yields a SpikeRecord that becomes the same Neo structure.

Real data from ``$SYNSEM_DATA/ephys`` (default ../shared/data/ephys); the tests skip only when the whole
data directory is absent.
"""


import neo
import numpy as np
import pytest
import quantities as pq
from neo.test.tools import assert_neo_object_is_compliant

from helpers import assert_records_equal, block_atol, ephys_dir, shared_data, sim_record
from test_simulators import run_brian2, run_nest, run_pynn, run_spike_tensor
from synsem_ephys.adapters import LOADERS, data_dir, load
from synsem_ephys.adapters.matlab_trials import load_kramer_stn, load_trial_matrix
from synsem_ephys.adapters.neo_generic import load_neo
from synsem_ephys.adapters.nwb import load_nwb
from synsem_ephys.adapters.spiketimes_text import load_locust, load_spiketimes_text
from synsem_ephys.errors import DataFormatError, DataMissingError
from synsem_ephys.io import from_block, read_nix_record, read_nwb, to_block, trial_view, write_nix, write_nwb
from synsem_ephys.record import CELL_TYPES, SpikeRecord

DANDI = ("sub-anm369963_ses-20170228.nwb", "sub-anm372793_ses-20170508.nwb")
LOCUST_TRIALS = {"C3H_1": 25, "C3H_2": 25, "C3H_3": 30, "C3H_4": 10, "C3H_5": 30, "C3H_6": 30, "Citral": 25,
                 "Mint_1": 25, "Octanol_1": 25, "Spontaneous_1": 30, "Spontaneous_2": 30, "Spontaneous_3": 30,
                 "Spontaneous_4": 30, "Vanilla_1": 25}


def _multi_segment_block():
    """A Block of another tool's layout: one Segment per trial, trains in seconds, unequal trial lengths."""
    blk = neo.Block(name="other tool")
    for r in range(4):
        seg = neo.Segment(name=f"trial{r}", odour=["A", "B"][r % 2], contrast=0.5 * r)
        t0 = 100.0 * r
        stop = t0 + (2.0 if r < 3 else 1.5)
        seg.spiketrains = [neo.SpikeTrain(t0 + np.array([0.1, 0.5 + 0.1 * k, 1.2])[: k + r % 3], units="s", t_start=t0,
                                          t_stop=stop, name=f"cell{k}") for k in range(3)]
        seg.spiketrains.append(neo.SpikeTrain([] * pq.s, t_start=t0, t_stop=stop, name="silent"))
        seg.events.append(neo.Event(times=[t0 + 0.25] * pq.s, labels=["go"], name="go"))
        blk.segments.append(seg)
    return blk


def _nix_file(tmp_path_factory, name, write):
    path = tmp_path_factory.mktemp("neo") / name
    write(path)
    return path


def _write_time_unit_csv(path):
    rng = np.random.default_rng(7)  # 6 units, Poisson-like, seconds as a sorting tool's CSV export would write
    rows = sorted((float(t), int(u)) for u in range(6) for t in rng.uniform(0.0, 20.0, rng.integers(20, 60)))
    path.write_text("# spike_time_s,unit\n" + "".join(f"{t:.6f},{u}\n" for t, u in rows))


def _write_other_tool(path):
    with neo.io.NixIO(str(path), mode="ow") as io:
        io.write_block(_multi_segment_block())


#: source -> (loader name in synsem_ephys.adapters.LOADERS, path maker, options): the conformance suite runs
#: over this registry; a new loader adds one line. A converter of synsem_ephys.adapters.CONVERTERS (objects,
#: not files) adds (None, maker, {}) under its name: the maker runs the real simulator and returns the record.
SOURCES = {
    "dandi0": ("nwb", lambda f: ephys_dir() / "dandi000006" / DANDI[0], {}),
    "dandi1": ("nwb", lambda f: ephys_dir() / "dandi000006" / DANDI[1], {}),
    "locust": ("locust", lambda f: ephys_dir() / "locust20010214", {}),
    "spiketimes": ("spiketimes", lambda f: [ephys_dir() / "locust20010214" / f"locust20010214_Citral_tetB_u{k}.txt"
                                            for k in range(1, 11)],
                   {"time_unit": "samples", "sampling_rate_hz": 15000.0, "trials": [30000.0 * r for r in range(25)],
                    "trial_duration_ms": 30000.0}),
    "any_text": ("any", lambda f: _nix_file(f, "sorted.csv", _write_time_unit_csv), {"time_unit": "s"}),
    "kramer": ("kramer_stn", lambda f: ephys_dir() / "kramer_stn" / "10_spikes-1.mat", {}),
    "neo_multisegment": ("neo", lambda f: _nix_file(f, "other.nix", _write_other_tool), {"label_annotation": "odour"}),
    "neo_canonical": ("neo", lambda f: _nix_file(f, "sim.nix", lambda p: write_nix(sim_record(n_trials=5, seed=4)[0], p)),
                      {}),
    "fastanddeep": ("fastanddeep", lambda f: shared_data("fastanddeep", "mnist_eightlayer_seed1_daleslaw"), {}),
    "brian2": (None, lambda f: run_brian2()[0], {}),
    "nest": (None, lambda f: run_nest()[0], {}),
    "pynn": (None, lambda f: run_pynn()[0], {}),
    "spike_tensor": (None, lambda f: run_spike_tensor()[0], {}),
    "pynapple": (None, lambda f: __import__("test_pynapple").conformance_record(), {}),
    "spikeinterface": (None, lambda f: __import__("test_spikeinterface").conformance_record(), {}),
}


def _load(name, tmp_path_factory):
    loader, path, options = SOURCES[name]
    if loader is None:  # a converter's source: the maker returns the record
        return path(tmp_path_factory)
    return load(loader, path(tmp_path_factory), **options)


_cache = {}


@pytest.fixture(params=list(SOURCES))
def loaded(request, tmp_path_factory):
    if request.param not in _cache:
        _cache[request.param] = _load(request.param, tmp_path_factory)
    return request.param, _cache[request.param]


def test_every_registered_loader_follows_the_protocol_and_its_module_is_in_the_suite():
    import inspect

    from synsem_ephys.adapters import get_loader

    for name, target in LOADERS.items():
        fn = get_loader(name)
        first = next(iter(inspect.signature(fn).parameters.values()))
        assert first.kind == first.POSITIONAL_OR_KEYWORD and first.default is first.empty, name
        assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in list(inspect.signature(fn).parameters.values())[1:]), name
    covered = {LOADERS[loader].split(":")[0] for loader, _, _ in SOURCES.values() if loader is not None}
    assert covered == {t.split(":")[0] for t in LOADERS.values()}
    with pytest.raises(ValueError, match="loader: expected one of"):
        get_loader("nwbb")


def test_conformance_record_invariants(loaded):
    name, rec = loaded
    assert isinstance(rec, SpikeRecord)
    assert rec.n_units >= 1 and rec.n_trials >= 1 and rec.n_spikes > 0, name
    assert rec.times_ms.dtype == np.float64 and rec.unit_index.dtype == np.int64 and rec.trial_index.dtype == np.int64
    assert rec.times_ms.min() >= 0 and rec.times_ms.max() < rec.trial_duration_ms
    assert set(rec.units.cell_type.tolist()) <= set(CELL_TYPES)
    assert rec.meta.get("source")
    if rec.trials.label_names:
        assert rec.trials.label.max() < len(rec.trials.label_names)


def test_conformance_block_and_files(loaded, tmp_path):
    name, rec = loaded
    block = to_block(rec)
    assert_neo_object_is_compliant(block)
    assert len(block.segments) == 1 and len(block.segments[0].spiketrains) == rec.n_units
    assert sum(len(st) for st in block.segments[0].spiketrains) == rec.n_spikes
    atol = block_atol(rec)
    assert_records_equal(rec, from_block(block), atol=atol)
    assert_records_equal(rec, read_nix_record(write_nix(block, tmp_path / "x.nix")), atol=atol)
    if rec.n_trials <= 400:
        assert_records_equal(rec, read_nwb(write_nwb(rec, tmp_path / "x.nwb")), atol=atol, rtol=1e-15)


def test_conformance_trial_view(loaded):
    name, rec = loaded
    r = int(np.bincount(rec.trial_index).argmax())
    view = trial_view(rec, trials=[r])
    trains = view[0]
    assert len(trains) == rec.n_units
    assert sum(len(st) for st in trains) == int(np.sum(rec.trial_index == r))
    assert all(float(st.t_stop) == rec.trial_duration_ms for st in trains)


# ---------------------------------------------------------------- dataset facts
def test_locust_layout_and_time_unit():
    rec = load_locust(ephys_dir() / "locust20010214")
    assert rec.n_units == 10 and rec.trials.label_names == tuple(sorted(LOCUST_TRIALS))
    assert rec.units.name.tolist() == [f"tetB_u{k}" for k in range(1, 11)]
    stim = rec.trials.columns["stimulus"]
    assert {s: int(np.sum(stim == s)) for s in LOCUST_TRIALS} == LOCUST_TRIALS
    # the numbers are 15 kHz sample indices: as such every spike falls in the first ~28.8 s of its 30 s
    # period (acquisition), never in the ~1.2 s gap; read as seconds they would span 156 days.
    assert rec.meta["time_unit"] == "samples"
    assert 28_000 < rec.times_ms.max() < 29_000
    assert load_spiketimes_text(ephys_dir() / "locust20010214", stimuli=["Citral"]).meta["time_unit"] == "samples"
    raw = np.loadtxt(ephys_dir() / "locust20010214" / "locust20010214_Citral_tetB_u1.txt")
    t, r = rec.spikes_of("tetB_u1")
    citral = np.flatnonzero(stim == "Citral")
    sel = np.isin(r, citral)
    np.testing.assert_allclose(np.sort(t[sel] + 30_000.0 * rec.trials.columns["repetition"][r[sel]]),
                               np.sort(raw) / 15.0, rtol=1e-12)
    with pytest.raises(DataFormatError, match="time_unit: expected a unit giving <= 1000 trials"):
        load_spiketimes_text(ephys_dir() / "locust20010214", stimuli=["Citral"], time_unit="s")


def test_dandi_sessions():
    for fname, n_trials, n_spikes, licks in ((DANDI[0], 178, 1679, (782, 1016)), (DANDI[1], 340, 2434, (1758, 3431))):
        rec = load_nwb(ephys_dir() / "dandi000006" / fname)
        assert rec.n_units == 1 and rec.n_trials == n_trials
        assert rec.n_spikes + rec.meta["n_spikes_outside_trials"] == n_spikes
        assert rec.trials.label_names == ("lick left", "lick right")
        assert {"response", "pole_in_time", "cue_start_time", "duration_ms", "source_start_ms"} <= set(rec.trials.columns)
        # stop_time is NaN in the file: each trial ends where the next starts
        d = rec.trials.columns["duration_ms"]
        np.testing.assert_allclose(d[:-1], np.diff(rec.trials.columns["source_start_ms"]))
        assert (len(rec.events["lick_left_times"].times_ms), len(rec.events["lick_right_times"].times_ms)) <= licks
        assert rec.units.population[0] in ("PTlower", "PTupper") and rec.units.cell_type[0] == "unknown"


def test_kramer_stn():
    path = ephys_dir() / "kramer_stn" / "10_spikes-1.mat"
    rec = load_kramer_stn(path)
    from scipy.io import loadmat

    mat = loadmat(str(path))
    assert rec.n_trials == 50 and rec.n_spikes == int(mat["train"].sum()) and rec.trial_duration_ms == 2000.0
    np.testing.assert_array_equal(rec.trials.label, mat["direction"].ravel())
    np.testing.assert_array_equal(np.bincount(rec.trials.label), [25, 25])
    assert (rec.trials.columns["stimulus_onset_ms"] == 1000.0).all()
    np.testing.assert_array_equal(rec.count_matrix()[:, 0], mat["train"].sum(axis=1))


def test_generic_neo_rules():
    blk = _multi_segment_block()
    blk.segments[0].spiketrains[0].annotate(cell_type="pyramidal", source_population="CA1")
    rec = from_block(blk, label_annotation="odour")
    assert rec.units.cell_type.tolist() == ["unknown"] * 4 and rec.units.population[0] == "CA1"
    assert rec.units.columns["source_cell_type"].tolist() == ["pyramidal", "unknown", "unknown", "unknown"]
    assert rec.units.name.tolist() == ["cell0", "cell1", "cell2", "silent"]
    assert rec.trial_duration_ms == 2000.0
    np.testing.assert_array_equal(rec.trials.columns["duration_ms"], [2000.0, 2000.0, 2000.0, 1500.0])
    np.testing.assert_array_equal(rec.trials.label, [0, 1, 0, 1])
    np.testing.assert_allclose(rec.trials.columns["contrast"], [0.0, 0.5, 1.0, 1.5])
    assert not np.any(rec.unit_index == 3)  # empty unit kept, without spikes
    np.testing.assert_allclose(rec.events["go"].times_ms, [250.0] * 4)
    np.testing.assert_allclose(rec.spikes_of("cell1")[0], [100.0, 100.0, 600.0, 100.0, 600.0, 1200.0, 100.0],
                               atol=1e-9)


# ---------------------------------------------------------------- bad input
def test_missing_data_names_path_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNSEM_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataMissingError, match="SYNSEM_DATA"):
        data_dir("ephys")
    with pytest.raises(DataMissingError, match="nothing.nwb"):
        load_nwb(tmp_path / "nothing.nwb")
    with pytest.raises(DataMissingError, match="SYNSEM_DATA"):
        load_locust(tmp_path / "no_dir")


def test_files_that_are_not_what_they_claim(tmp_path):
    fake = tmp_path / "fake.nwb"
    fake.write_text("hello")
    with pytest.raises(DataFormatError, match="fake.nwb"):
        load_nwb(fake)
    real = ephys_dir() / "dandi000006" / DANDI[0]
    cut = tmp_path / "cut.nwb"
    cut.write_bytes(real.read_bytes()[:20000])
    with pytest.raises(DataFormatError, match="cut.nwb"):
        load_nwb(cut)
    mat = tmp_path / "x.mat"
    mat.write_bytes((ephys_dir() / "kramer_stn" / "10_spikes-1.mat").read_bytes()[:3000])
    with pytest.raises(DataFormatError, match="x.mat"):
        load_kramer_stn(mat)
    with pytest.raises(DataFormatError, match="'spikes'.*Variables present"):
        load_trial_matrix(ephys_dir() / "kramer_stn" / "10_spikes-1.mat", train_key="spikes")
    d = tmp_path / "locust"
    d.mkdir()
    (d / "exp_Odour_tetB_u1.txt").write_text("12.5\nabc\n")
    with pytest.raises(DataFormatError, match="one number"):
        load_spiketimes_text(d)
    (d / "exp_Odour_tetB_u1.txt").write_text("")
    (d / "exp_Other_tetB_u1.txt").write_text("1.0\n")
    (d / "exp_Other_tetB_u2.txt").write_text("2.0\n")
    with pytest.raises(DataFormatError, match=r"missing \[\('Odour', 2\)\]"):
        load_spiketimes_text(d, time_unit="s")
    (d / "exp_Odour_tetB_u2.txt").write_text("")
    rec = load_spiketimes_text(d, time_unit="s")  # empty files = silent units, documented
    assert rec.n_spikes == 2 and rec.n_trials == 1  # Odour has no spike: no trial can be inferred
    weird = tmp_path / "data.weird"
    weird.write_text("x")
    with pytest.raises(DataFormatError, match="neo.io"):
        load_neo(weird)


def test_generic_neo_rejects_inconsistent_trains():
    blk = _multi_segment_block()
    st = blk.segments[1].spiketrains[2]
    blk.segments[1].spiketrains[2] = neo.SpikeTrain(st.magnitude, units="s", t_start=st.t_start, t_stop=st.t_stop + 1 * pq.s,
                                                     name=st.name)
    with pytest.raises(DataFormatError, match=r"segments\[1\].spiketrains\[2\] \('cell2'\): expected t_start"):
        from_block(blk)
    blk = _multi_segment_block()
    blk.segments[2].spiketrains.pop(1)
    with pytest.raises(DataFormatError, match=r"segments\[2\]: expected the same units.*cell1"):
        from_block(blk)
