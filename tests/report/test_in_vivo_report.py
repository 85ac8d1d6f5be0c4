"""The report of recordings without layers (locust, DANDI): the per-unit table (units.csv, summary.json
"units", report.html) and the PSTH per condition, no plots across depth; a layered network keeps them."""

import csv
import json

import numpy as np
import pytest

from helpers import ephys_dir, sim_record
from synsem_ephys.analysis.units import unit_table
from synsem_ephys.report import ReportOptions, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = dict(n_shuffles=20, complexity_trials=0)


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_locust_report_has_the_unit_table_and_psth_and_no_depth_plots(tmp_path):
    from synsem_ephys.adapters.spiketimes_text import load_locust

    rec = load_locust(ephys_dir() / "locust20010214", stimuli=["C3H_1", "Citral", "Spontaneous_1"])
    window = (10150.0, 10650.0)
    opts = ReportOptions(packet=window, active=window, min_spikes=8, min_active_trials=5, **FAST)
    rep = write_report(rec, tmp_path / "locust", progress=False, options=opts)
    assert "psth" in rep.figures and "dispersion" not in rep.figures  # no plots across depth without layers
    assert rep.figures["psth"].read_bytes()[:8] == PNG_MAGIC and rep.figures["psth"].stat().st_size > 5000
    assert rep.units_csv == tmp_path / "locust" / "units.csv"
    s = json.loads(rep.summary.read_text())
    assert s["has_layers"] is False and s["units_csv"] == "units.csv" and s["figures"]["psth"] == "psth.png"
    u = s["units"]
    assert u["refractory_ms"] == 1.5 and "[10150, 10650) ms" in u["active"] and "min_spikes" in u["active"]
    assert u["class_names"] == ["C3H_1", "Citral", "Spontaneous_1"] and u["psth"]["class_names"] == u["class_names"]
    assert [r["unit"] for r in u["rows"]] == rec.units.name.tolist()
    # the same numbers as the analysis itself, under the report's definitions
    direct = unit_table(rec, active=window, labels=None, min_spikes=8, min_active_trials=5, n_shuffles=20, seed=0)
    for row, d in zip(u["rows"], direct.rows()):
        for key, val in d.items():
            if isinstance(val, float) and not np.isfinite(val):
                assert row[key] is None, key
            else:
                assert row[key] == pytest.approx(val, rel=1e-12) if isinstance(val, float) else row[key] == val, key
    dur_s = rec.n_trials * 30.0
    assert u["rows"][0]["rate_hz"] == pytest.approx(np.sum(rec.unit_index == 0) / dur_s)
    # the locust units respond to odours, not to the spontaneous condition
    assert any(r["preferred"] in ("C3H_1", "Citral") for r in u["rows"])
    table = _csv(rep.units_csv)
    assert [r["unit"] for r in table] == rec.units.name.tolist() and list(table[0]) == list(direct.COLUMNS)
    assert float(table[3]["cv_isi"]) == pytest.approx(direct.cv_isi[3], rel=1e-12)
    html = rep.html.read_text()
    assert "<h2>Units</h2>" in html and "src='psth.png'" in html and "units.csv" in html
    assert "ISI &lt; 1.5 ms" in html and "Synchronisation across depth" not in html and "dispersion.png" not in html
    assert "<h2>Synchronisation per group</h2>" in html  # the dispersion table stays
    assert s["dispersion"]["by_group"][0]["group"] == "tetB"
    # STTC per condition: the same units in every condition's matrix, named definition, figure
    c = u["sttc"]
    assert c["class_names"] == u["class_names"] and len(c["matrices"]) == 3 and c["dt_ms"] == 10.0
    assert "every spike of the trial counts" in c["definition"] and "no null" in c["definition"]
    assert len(c["units"]) == min(rec.n_units, 40) and len(c["matrices"][0]) == len(c["units"])
    assert "STTC per condition" in html and rep.figures["sttc"].read_bytes()[:8] == PNG_MAGIC
    # a unit without IG says why
    missing = [r for r in u["rows"] if r["ig"] is None]
    assert all("min_active_trials = 5" in r["ig_missing_reason"] for r in missing)
    assert all(r["ig_missing_reason"] == "" for r in u["rows"] if r["ig"] is not None)
    assert not missing or "No IG (empty cells) for" in html


def test_dandi_report_rates_over_the_trials_durations(tmp_path):
    from synsem_ephys.adapters.nwb import load_nwb

    rec = load_nwb(ephys_dir() / "dandi000006" / "sub-anm369963_ses-20170228.nwb")
    rep = write_report(rec, tmp_path / "dandi", progress=False, options=ReportOptions(min_active_trials=5, **FAST))
    s = json.loads(rep.summary.read_text())
    (row,) = s["units"]["rows"]
    total_s = rec.trials.columns["duration_ms"].sum() / 1000.0
    assert row["rate_hz"] == pytest.approx(rec.n_spikes / total_s, rel=1e-12)
    assert s["units"]["active"] == "any spike of the trial" and s["units"]["class_names"] == ["lick left", "lick right"]
    assert row["preferred"] in ("lick left", "lick right") and row["ig_p_value"] is not None
    assert set(rep.figures) == {"raster", "information", "psth"} and rep.units_csv.exists()
    assert len(_csv(rep.units_csv)) == 1


def test_a_layered_network_keeps_the_depth_plots_and_has_no_unit_table(tmp_path):
    rec, _ = sim_record(n_trials=30, seed=5)
    rep = write_report(rec, tmp_path / "net", progress=False, options=ReportOptions(min_active_trials=2, **FAST))
    s = json.loads(rep.summary.read_text())
    assert s["has_layers"] is True and s["units"] is None and s["units_csv"] is None and rep.units_csv is None
    assert "dispersion" in rep.figures and "psth" not in rep.figures
    assert not (tmp_path / "net" / "units.csv").exists()
    html = rep.html.read_text()
    assert "Synchronisation across depth" in html and "<h2>Units</h2>" not in html
