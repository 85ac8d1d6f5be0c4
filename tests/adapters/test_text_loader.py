"""The general spike-time text loader (adapters.spiketimes_text.load_spiketimes) on files written here.

Every expected value is computed directly from the numbers written (the unit conversion, the trial
windows by hand); the locust convention is checked against the general loader on the real files.
"""

import numpy as np
import pytest

from helpers import ephys_dir
from synsem_ephys.adapters import LOADERS, load
from synsem_ephys.adapters.spiketimes_text import load_locust, load_spiketimes
from synsem_ephys.errors import DataFormatError, DataMissingError
from synsem_ephys.io import from_block, to_block


def _write(path, values, *, header="# spike times\n", fmt=repr):
    path.write_text(header + "".join(f"{fmt(float(v))}\n" for v in values))
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize("unit, rate, to_ms", [
    ("s", None, lambda v: v * 1000.0),
    ("ms", None, lambda v: v),
    ("us", None, lambda v: v / 1000.0),
    ("samples", 30000.0, lambda v: v * (1000.0 / 30000.0)),
])
def test_one_unit_per_file_in_every_time_unit(tmp_path, rng, unit, rate, to_ms):
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6, "samples": 3e4}[unit]
    vals = [np.sort(rng.uniform(0, 2.0, n)) * scale for n in (30, 0, 7)]
    files = [_write(tmp_path / f"{name}.txt", v) for name, v in zip(("alpha", "beta", "gamma"), vals)]
    # a comment after a value, blank lines and a comment-only line are skipped
    files[2].write_text(files[2].read_text() + "\n   \n# trailing note\n")
    lines = files[0].read_text().splitlines()
    files[0].write_text("\n".join(lines[:3] + [lines[3] + "   # a note"] + lines[4:]) + "\n")
    rec = load_spiketimes(files, time_unit=unit, sampling_rate_hz=rate)
    assert rec.units.name.tolist() == ["alpha", "beta", "gamma"]
    assert rec.units.population.tolist() == ["unit"] * 3 and rec.units.columns["file"].tolist() == [
        "alpha.txt", "beta.txt", "gamma.txt"]
    assert rec.n_trials == 1 and rec.trials.columns["source_start_ms"].tolist() == [0.0]
    for u, v in enumerate(vals):
        t, r = rec.spikes_of(u)
        np.testing.assert_array_equal(t, to_ms(v))  # bit for bit: the file holds repr() of the values
        assert not np.any(r)
    latest = max(to_ms(v).max() for v in vals if v.size)
    assert rec.trial_duration_ms == np.floor(latest) + 1.0  # the whole ms after the latest spike
    assert rec.meta["time_unit"] == unit and rec.meta["n_spikes_outside_trials"] == 0
    assert rec.meta.get("sampling_rate_hz") == rate


def test_a_directory_is_read_in_natural_order_and_hidden_files_are_skipped(tmp_path):
    d = tmp_path / "units"
    d.mkdir()
    for k in (10, 2, 1):
        _write(d / f"u{k}.txt", [k * 1.0, k * 2.0])
    (d / ".DS_Store").write_text("junk")
    rec = load("spiketimes", d, time_unit="ms")
    assert rec.units.name.tolist() == ["u1", "u2", "u10"]
    np.testing.assert_array_equal(rec.spikes_of("u10")[0], [10.0, 20.0])
    assert rec.meta["source"] == str(d) and LOADERS["spiketimes"] == "spiketimes_text:load_spiketimes"


def test_time_unit_columns_with_numbered_and_named_units(tmp_path, rng):
    t = np.sort(rng.uniform(0, 5.0, 200))
    u = rng.integers(0, 12, 200)
    path = tmp_path / "sorted.csv"
    path.write_text("# time_s, cluster\n" + "".join(f"{a!r}, {b}\n" for a, b in zip(t.tolist(), u.tolist())))
    rec = load_spiketimes(path, time_unit="s", layout="time_unit_columns", delimiter=",")
    present = sorted(set(u.tolist()))
    assert rec.units.name.tolist() == [str(k) for k in present]  # numeric order: 2 before 10
    assert rec.units.channel_id.tolist() == present
    for row, k in enumerate(present):
        np.testing.assert_array_equal(rec.spikes_of(row)[0], np.sort(t[u == k]) * 1000.0)
    named = tmp_path / "named.txt"
    named.write_text("0.5 cellB\n0.25 cellA\n# comment\n\n1.5 cellB\n")
    rec = load_spiketimes(named, time_unit="ms", layout="time_unit_columns", unit_names={"cellA": "A"})
    assert rec.units.name.tolist() == ["A", "cellB"]
    np.testing.assert_array_equal(rec.spikes_of("cellB")[0], [0.5, 1.5])
    copy = tmp_path / "named_copy.txt"
    copy.write_text(named.read_text())
    two = load_spiketimes([named, copy], time_unit="ms", layout="time_unit_columns")  # several files: stem:unit
    assert two.units.name.tolist() == ["named:cellA", "named:cellB", "named_copy:cellA", "named_copy:cellB"]


def test_trials_from_start_times_with_and_without_a_duration(tmp_path):
    ms = np.array([5.0, 99.5, 100.0, 150.0, 240.0, 300.5, 310.0])
    path = _write(tmp_path / "cell.txt", ms)
    starts = [0.0, 100.0, 300.0]
    rec = load_spiketimes(path, time_unit="ms", trials=starts, trial_duration_ms=60.0, outside="count",
                          trial_labels=["odour", "air", "odour"])
    # by hand: [0, 60) holds 5.0; [100, 160) holds 100, 150; [300, 360) holds 300.5, 310
    np.testing.assert_array_equal(rec.times_ms, [5.0, 0.0, 50.0, 0.5, 10.0])
    np.testing.assert_array_equal(rec.trial_index, [0, 1, 1, 2, 2])
    assert rec.meta["n_spikes_outside_trials"] == 2  # 99.5 and 240.0
    assert rec.trials.label_names == ("air", "odour") and rec.trials.label.tolist() == [1, 0, 1]
    assert rec.trial_duration_ms == 60.0 and "duration_ms" not in rec.trials.columns
    with pytest.raises(ValueError, match=r"trials: expected every spike inside a trial window.*2 of 7 spikes"):
        load_spiketimes(path, time_unit="ms", trials=starts, trial_duration_ms=60.0)
    # without a duration: each trial runs to the next start, the last to the whole ms after its latest spike
    rec = load_spiketimes(path, time_unit="ms", trials=[0.0, 100.0, 300.0])
    np.testing.assert_array_equal(rec.trials.columns["duration_ms"], [100.0, 200.0, 11.0])
    assert rec.n_spikes == ms.size and rec.trial_duration_ms == 200.0
    np.testing.assert_array_equal(rec.times_ms, [5.0, 99.5, 0.0, 50.0, 140.0, 0.5, 10.0])
    with pytest.raises(ValueError, match="trial_duration_ms: expected a trial length.*no spike after the last start"):
        load_spiketimes(path, time_unit="ms", trials=[0.0, 400.0])
    with pytest.raises(ValueError, match="trial_duration_ms: expected at most the smallest gap"):
        load_spiketimes(path, time_unit="ms", trials=starts, trial_duration_ms=150.0)
    with pytest.raises(ValueError, match="trials: expected a non-empty, strictly increasing"):
        load_spiketimes(path, time_unit="ms", trials=[100.0, 0.0])
    with pytest.raises(ValueError, match="trial_labels: expected one label .* per trial, 3 values"):
        load_spiketimes(path, time_unit="ms", trials=starts, trial_labels=["a", "b"])


def test_negative_times_start_the_single_trial_and_blocks_round_trip(tmp_path):
    path = _write(tmp_path / "c.txt", [-2.5, 0.0, 7.25])
    rec = load_spiketimes(path, time_unit="ms")
    assert rec.trials.columns["source_start_ms"].tolist() == [-2.5]
    np.testing.assert_array_equal(rec.times_ms, [0.0, 2.5, 9.75])
    back = from_block(to_block(rec))
    np.testing.assert_allclose(back.times_ms, rec.times_ms, atol=1e-12)


def test_bad_files_and_arguments_name_what_is_wrong(tmp_path):
    good = _write(tmp_path / "good.txt", [1.0, 2.0])
    bad = tmp_path / "bad.txt"
    bad.write_text("# ok\n1.0\n2.0 3.0\n")
    with pytest.raises(DataFormatError, match=r"one number \(spike time\) per line.*bad.txt:3: '2.0 3.0'.*time_unit_columns"):
        load_spiketimes(bad, time_unit="s")
    bad.write_text("1.0\nnan\n")
    with pytest.raises(DataFormatError, match="finite spike times.*1 NaN/inf"):
        load_spiketimes(bad, time_unit="s")
    bad.write_bytes(b"1.0\n\xff\xfe\n")
    with pytest.raises(DataFormatError, match="UTF-8"):
        load_spiketimes(bad, time_unit="s")
    header = tmp_path / "h.csv"
    header.write_text("time,unit\n1.0,3\n")
    with pytest.raises(DataFormatError, match=r"h.csv:1: 'time,unit'.*header line"):
        load_spiketimes(header, time_unit="s", layout="time_unit_columns", delimiter=",")
    header.write_text("1.0 3 extra\n")
    with pytest.raises(DataFormatError, match=r"two fields per line.*h.csv:1"):
        load_spiketimes(header, time_unit="s", layout="time_unit_columns")
    with pytest.raises(TypeError, match="time_unit"):
        load_spiketimes(good)  # no default: a file does not say its unit
    with pytest.raises(ValueError, match=r"time_unit: expected one of \('s', 'ms', 'us', 'samples'\).*'sec'"):
        load_spiketimes(good, time_unit="sec")
    with pytest.raises(ValueError, match="sampling_rate_hz: expected a finite float > 0 .* for time_unit='samples'; got None"):
        load_spiketimes(good, time_unit="samples")
    with pytest.raises(ValueError, match="sampling_rate_hz: expected a finite float > 0"):
        load_spiketimes(good, time_unit="samples", sampling_rate_hz=-1)
    with pytest.raises(ValueError, match="sampling_rate_hz: expected None unless time_unit='samples'"):
        load_spiketimes(good, time_unit="s", sampling_rate_hz=30000.0)
    with pytest.raises(ValueError, match="layout: expected one of"):
        load_spiketimes(good, time_unit="s", layout="columns")
    with pytest.raises(ValueError, match="delimiter: expected None for layout='one_unit_per_file'"):
        load_spiketimes(good, time_unit="s", delimiter=",")
    with pytest.raises(ValueError, match="outside: expected one of"):
        load_spiketimes(good, time_unit="s", outside="drop")
    with pytest.raises(DataMissingError, match="nothing.txt"):
        load_spiketimes(tmp_path / "nothing.txt", time_unit="s")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no files in"):
        load_spiketimes(tmp_path / "empty", time_unit="s")
    other = tmp_path / "sub"
    other.mkdir()
    _write(other / "good.txt", [3.0])
    with pytest.raises(ValueError, match=r"paths: expected files with distinct stems.*\[.good.\]"):
        load_spiketimes([good, other / "good.txt"], time_unit="s")
    rec = load_spiketimes([good, other / "good.txt"], time_unit="s", unit_names=["a", "b"])
    assert rec.units.name.tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="unit_names: expected one name per unit"):
        load_spiketimes(good, time_unit="s", unit_names=["a", "b"])
    with pytest.raises(ValueError, match=r"unit_names: expected keys among the units found.*\['goood'\]"):
        load_spiketimes(good, time_unit="s", unit_names={"goood": "x"})
    with pytest.raises(ValueError, match=r"paths\[1\]: expected a file"):
        load_spiketimes([good, other], time_unit="s")


def test_empty_file_is_a_silent_unit(tmp_path):
    (tmp_path / "silent.txt").write_text("")
    _write(tmp_path / "loud.txt", [0.001])
    rec = load_spiketimes(tmp_path, time_unit="s")
    assert rec.units.name.tolist() == ["loud", "silent"] and rec.n_spikes == 1 and rec.trial_duration_ms == 2.0


def test_the_locust_convention_equals_the_general_loader_on_the_real_files():
    d = ephys_dir() / "locust20010214"
    loc = load_locust(d, stimuli=["Citral"])
    files = [d / f"locust20010214_Citral_tetB_u{k}.txt" for k in range(1, 11)]
    gen = load_spiketimes(files, time_unit="samples", sampling_rate_hz=15000.0,
                          trials=(np.arange(loc.n_trials) * 30000.0).tolist(), trial_duration_ms=30000.0,
                          unit_names=loc.units.name.tolist())
    o1, o2 = loc.order_by_unit(), gen.order_by_unit()
    np.testing.assert_array_equal(loc.times_ms[o1], gen.times_ms[o2])
    np.testing.assert_array_equal(loc.unit_index[o1], gen.unit_index[o2])
    np.testing.assert_array_equal(loc.trial_index[o1], gen.trial_index[o2])
    np.testing.assert_array_equal(loc.trials.columns["source_start_ms"], gen.trials.columns["source_start_ms"])
