"""The demo's NIX round trip beside the report: the check of the file's recording against the simulated one
catches any difference, runs in a child process, and its failure fails the demo (the phases in summary.json:
tests/apps/test_demo.py)."""

from dataclasses import replace

import numpy as np
import pytest

from helpers import sim_record
from synsem_ephys import demo as demo_mod
from synsem_ephys.errors import DataFormatError


def _rec():
    return demo_mod._in_file_order(sim_record(n_trials=5, seed=4)[0])


def test_differences_sees_every_kind_of_change():
    a = _rec()
    assert demo_mod._differences(a, replace(a)) == []
    t = a.times_ms.copy()
    t[3] = np.nextafter(t[3], np.inf)
    assert demo_mod._differences(a, replace(a, times_ms=t)) == ["times_ms", "checksum"]
    u = a.unit_index.copy()
    u[[0, -1]] = u[[-1, 0]]
    assert demo_mod._differences(a, replace(a, unit_index=u))[0] == "unit_index"
    units = replace(a.units, cell_type=np.where(a.units.cell_type == "E", "I", a.units.cell_type))
    assert demo_mod._differences(a, replace(a, units=units)) == ["units.cell_type", "checksum"]
    assert demo_mod._differences(a, replace(a, meta={**a.meta, "seed": 99})) == ["meta"]
    trials = replace(a.trials, label=a.trials.label[::-1].copy())
    assert "trials.label" in demo_mod._differences(a, replace(a, trials=trials))


@pytest.mark.parametrize("concurrent", [True, False])
def test_round_trip_in_a_child_gives_its_times_and_fails_on_a_different_read(tmp_path, monkeypatch, concurrent):
    import synsem_ephys.io as sio

    if concurrent and not demo_mod._FORK_OK:
        pytest.skip("no fork on this platform")
    a = _rec()
    trip = demo_mod._RoundTrip(a, tmp_path / "r.nix", concurrent)
    sec = trip.result()
    trip.stop()
    assert set(sec) == {"nix_write", "nix_read", "nix"} and sec["nix"] >= sec["nix_write"] + sec["nix_read"]
    assert demo_mod._differences(a, sio.read_nix_record(tmp_path / "r.nix")) == []

    real = sio.read_nix_record

    def off_by_one_ulp(path, *args, **kwargs):
        rec = real(path, *args, **kwargs)
        return replace(rec, times_ms=np.nextafter(rec.times_ms, np.inf))

    monkeypatch.setattr(sio, "read_nix_record", off_by_one_ulp)  # a forked child sees this patch too
    with pytest.raises(DataFormatError, match="differs from the simulated one in times_ms"):
        trip = demo_mod._RoundTrip(a, tmp_path / "s.nix", concurrent)  # the synchronous path raises here
        trip.result()
    trip.stop()

