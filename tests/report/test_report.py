"""The report end to end: a tiny seeded network -> NIX -> analyze_file -> report.html, summary.json,
non-empty PNG figures, GraphML; an in-vivo recording without layers; the report path works without torch."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from synsem_ephys.report import HTML_NAME, SUMMARY_NAME, ReportOptions, analyze, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = dict(n_shuffles=50, complexity_trials=2)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 64 -> 3 x (20E + 8I) -> 10 Dale network, seeded and calibrated (not trained) on latency-coded digits."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from synsem_ephys.io import write_nix
    from synsem_ephys.sim import Network
    from synsem_ephys.spec import NetworkSpec
    from synsem_ephys.train import latency_encode, load_digits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = load_digits("test")
        spec = NetworkSpec(64, hidden=((20, 8),) * 3, n_outputs=10)
        t_in = torch.tensor(latency_encode(data.x, tau_syn_ms=spec.tau_syn_ms))
        net = Network(spec, seed=1)
        net.calibrate_(t_in[:100])
        record = net.record(t_in, labels=data.y)
        weights, signs = net.weights_numpy()
    finally:
        torch.set_num_threads(threads)
    path = write_nix(record, tmp_path_factory.mktemp("nix") / "tiny.nix")
    return record, weights, signs, path


def _check_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000, path


def test_analyze_file_end_to_end(tiny, tmp_path, capsys):
    from synsem_ephys.report import analyze_file

    record, weights, _, path = tiny
    rep = analyze_file(path, tmp_path / "out", weights=weights, progress=True, options=ReportOptions(**FAST))
    err = capsys.readouterr().err
    assert "[1/" in err and "report written" in err
    out = tmp_path / "out"
    assert rep.html == out / HTML_NAME and rep.summary == out / SUMMARY_NAME
    assert set(rep.figures) == {"raster", "dispersion", "information", "pathways", "accuracy"}
    for p in rep.figures.values():
        _check_png(p)
    assert rep.graphml is not None and rep.graphml.stat().st_size > 500
    s = json.loads(rep.summary.read_text())
    for key in ("source", "n_units", "n_trials", "n_spikes", "accuracy", "groups", "dispersion", "information",
                "information_secondary", "pathways", "complexity", "checks", "options", "figures", "seconds"):
        assert key in s, key
    assert s["n_units"] == record.n_units and s["n_trials"] == record.n_trials
    assert s["groups"] == ["input", "hidden1", "hidden2", "hidden3", "output"]
    assert s["accuracy"] == pytest.approx(float(np.mean(record.trials.prediction == record.trials.label)))
    row = s["dispersion"]["by_group"][1]
    for key in ("packet_a_mean", "packet_sigma_ms_median", "packet_iqr_ms_median", "all_sd_ms_median"):
        assert isinstance(row[key], float), key
    assert {g["cell_type"] for g in s["information"]["by_group"]} == {"input", "E", "I", "output"}
    assert len(s["pathways"]["mean_jaccard"]) == 3 and len(s["pathways"]["chance_jaccard"]) == 3
    assert s["complexity"]["elephant_agrees_with_numpy"] is True
    assert [c["name"] for c in s["checks"]] == ["spread_then_reconverges", "ig_E_rises", "ig_I_lower",
                                                "pathways_distinct", "pathway_selectivity_rises"]
    assert all(c["definition"] for c in s["checks"])  # every verdict names its definitions
    assert "strictly before the decision" in s["information"]["definition"]  # the headline is pre-decision
    assert s["information_secondary"]["definition"] == "any spike of the trial"
    assert s["pathways"]["null"]["n_shuffles"] == FAST.get("n_pathway_shuffles", 20)
    assert s["pathways"]["alternative"]["method"] == "ancestors"
    assert all(c["passed"] in (True, False, None) and c["detail"] for c in s["checks"])
    html = rep.html.read_text()
    for name in s["figures"].values():
        assert f"src='{name}'" in html
    assert "information gain" in html.lower() and "summary.json" in html


def test_analyze_without_weights_or_decisions(tiny):
    record, _, _, _ = tiny
    res = analyze(record, options=ReportOptions(packet=None, complexity_trials=0, n_shuffles=20))
    assert res.pathways is None and res.complexity is None and res.packets is None
    assert res.checks[-1].passed is None  # no weights: the pathway check cannot tell
    assert res.information_secondary is not None  # the record has decisions: headline pre-decision, secondary any


def test_report_on_in_vivo_recording(tmp_path):
    """Locust antennal lobe: no layers -> groups by population, IG about the stimulus in a response window."""
    from helpers import ephys_dir
    from synsem_ephys.adapters.spiketimes_text import load_locust

    rec = load_locust(ephys_dir() / "locust20010214", stimuli=["C3H_1", "Citral", "Spontaneous_1"])
    opts = ReportOptions(packet=(10150.0, 10650.0), active=(10150.0, 10650.0), min_spikes=8, min_active_trials=5,
                         complexity_trials=1, complexity_bin_ms=5.0, **{k: v for k, v in FAST.items()
                                                                       if k != "complexity_trials"})
    rep = write_report(rec, tmp_path / "locust", progress=False, options=opts)
    s = json.loads(rep.summary.read_text())
    assert s["groups"] == ["tetB"] and s["pathways"] is None and s["accuracy"] is None
    assert s["information"]["n_classes"] == 3 and "accuracy" not in rep.figures
    assert [c["name"] for c in s["checks"]] == ["layered_network_checks"]  # one line, naming the checks
    assert s["checks"][0]["passed"] is None and "ig_E_rises" in s["checks"][0]["statement"]
    for p in rep.figures.values():
        _check_png(p)


def test_report_path_imports_and_runs_without_torch(tmp_path):
    code = textwrap.dedent(f"""
        import sys

        class NoTorch:                       # any `import torch` now fails (scipy only peeks at sys.modules)
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is blocked in this test")

        sys.meta_path.insert(0, NoTorch())
        import numpy as np
        from synsem_ephys.record import SpikeRecord
        from synsem_ephys.spec import NetworkSpec
        from synsem_ephys.report import ReportOptions, write_report
        spec = NetworkSpec(4, hidden=((3, 1), (3, 1)), n_outputs=2)
        rng = np.random.default_rng(0)
        layers = [k * 3.0 + rng.uniform(0, 3, (30, n)) for k, n in enumerate(spec.layer_sizes)]
        rec = SpikeRecord.from_layer_times(layers, spec.populations(), labels=np.arange(30) % 2,
                                           predictions=np.argmin(layers[-1], axis=1), meta={{"spec": spec.to_json()}})
        w = [rng.uniform(-1, 1, (a, b)) for a, b in zip(spec.layer_sizes[:-1], spec.layer_sizes[1:])]
        w = [np.abs(x) * np.asarray(spec.presyn_signs(l))[:, None] if l else x for l, x in enumerate(w)]
        rep = write_report(rec, {str(tmp_path / 'nt')!r}, weights=w, progress=False,
                           options=ReportOptions(n_shuffles=10, complexity_trials=0, min_active_trials=2))
        assert "torch" not in sys.modules
        print(sorted(rep.figures))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "pathways" in out.stdout


def test_unlabelled_recording_skips_information(tmp_path):
    from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable

    rng = np.random.default_rng(0)
    n = 400
    rec = SpikeRecord(rng.uniform(0, 50, n), rng.integers(0, 4, n), rng.integers(0, 10, n), UnitTable.simple(4),
                      TrialTable(np.full(10, -1)), 50.0)
    rep = write_report(rec, tmp_path / "u", progress=False, options=ReportOptions(complexity_trials=1, n_shuffles=10))
    s = json.loads(rep.summary.read_text())
    assert s["information"] is None and s["accuracy"] is None and "information" not in rep.figures
    assert s["dispersion"]["packet_definition"] == "none" and s["groups"] == ["unit"]
