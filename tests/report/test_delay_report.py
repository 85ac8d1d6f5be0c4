"""The report's delay section: a network with delays (given, or from the record's provenance through NIX and NWB)
shows its delays per matrix and E/I type and, with the weights, the E/I structure against its nulls; a network
without delays gets none of it (same summary keys, no figure)."""

import json

import numpy as np
import pytest

from synsem_ephys.report import HTML_NAME, SUMMARY_NAME, ReportOptions, write_report

FAST = ReportOptions(n_shuffles=20, complexity_trials=0, n_pathway_shuffles=0, min_active_trials=2)


@pytest.fixture(scope="module")
def nets():
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from synsem_ephys.sim import Network
    from synsem_ephys.spec import NetworkSpec
    from synsem_ephys.train import latency_encode, load_digits

    data = load_digits("test")
    x, y = data.x[:120], data.y[:120]
    out = {}
    for name, delays in (("delays", ("synaptic", "axonal")), ("plain", None)):
        spec = NetworkSpec(64, hidden=((12, 4),), n_outputs=10, dale=True, delays=delays,
                           delay_max_ms=5.0 if delays else None)
        t_in = torch.tensor(latency_encode(x, tau_syn_ms=spec.tau_syn_ms))
        net = Network(spec, seed=3, delay_init="uniform" if delays else "normal")
        net.calibrate_(t_in[:60])
        out[name] = (net, net.record(t_in, labels=y))
    return out


def test_report_shows_the_delays_and_the_ei_structure(nets, tmp_path):
    net, rec = nets["delays"]
    w, s = net.weights_numpy()
    rep = write_report(rec, tmp_path / "d", weights=w, signs=s, progress=False, options=FAST)
    summ = json.loads((tmp_path / "d" / SUMMARY_NAME).read_text())
    g = summ["delays"]
    assert summ["figures"]["delays"] == "delays.png" and (tmp_path / "d" / "delays.png").stat().st_size > 1000
    want = net.delays_numpy()
    by = {(r["matrix"], r["type"]): r for r in g["by_type"]}
    assert set(by) == {(0, "E"), (0, "I"), (1, "E"), (1, "I")}  # free input rows take their weight's sign
    for (l, t), r in by.items():
        typ = np.where(s[l][:, None] != 0, s[l][:, None], np.sign(w[l]))
        sel = (w[l] != 0) & ((typ > 0) if t == "E" else (typ < 0))
        assert r["n"] == int(sel.sum()) and r["mean_ms"] == pytest.approx(want[l][sel].mean(), rel=1e-12)
        assert r["median_ms"] == pytest.approx(np.median(want[l][sel]), rel=1e-12)
    assert [m["matrix"] for m in g["matrices"]] == [0, 1]
    assert sum(sum(c) for c in g["matrices"][1]["counts"].values()) == w[1].size
    ei = {e["matrix"]: e for e in g["ei_structure"]}
    from synsem_ephys.analysis.ei_structure import ei_statistics, receptive_field_centres

    direct = ei_statistics(w[1], want[1], s[1], space=receptive_field_centres(w)[1], n_perm=20, seed=1)
    assert ei[1]["summary"] == pytest.approx(direct.summary, rel=1e-12, nan_ok=True)
    assert {f"{t['statistic']}/{t['null']}" for t in ei[1]["tests"]} == set(direct.tests)
    assert ei[0]["space"] == "input index" and ei[1]["space"] == "receptive-field centre"
    page = (tmp_path / "d" / HTML_NAME).read_text()
    assert "Transmission delays and the spatio-temporal E/I structure" in page and "delays.png" in page
    assert "sign_shuffle" in page and "moran_delay" in page
    assert rep.result.delays is not None


def test_delays_come_from_the_files_provenance(nets, tmp_path):
    from synsem_ephys.io import read_nix_record, write_nix
    from synsem_ephys.io.nwb import read_nwb, write_nwb

    net, rec = nets["delays"]
    w, s = net.weights_numpy()
    ref = write_report(rec, tmp_path / "ref", weights=w, signs=s, progress=False, options=FAST)
    for kind, back in (("nix", read_nix_record(write_nix(rec, tmp_path / "r.nix"))),
                       ("nwb", read_nwb(write_nwb(rec, tmp_path / "r.nwb")))):
        write_report(back, tmp_path / kind, weights=w, signs=s, progress=False, options=FAST)
        a = json.loads((tmp_path / kind / SUMMARY_NAME).read_text())["delays"]
        b = json.loads(ref.summary.read_text())["delays"]
        assert a == b
    # no weights: the distributions from the provenance alone (types from the spec's signs; input rows free)
    write_report(back, tmp_path / "now", progress=False, options=FAST)
    g = json.loads((tmp_path / "now" / SUMMARY_NAME).read_text())["delays"]
    assert {(r["matrix"], r["type"]) for r in g["by_type"]} == {(0, "free"), (1, "E"), (1, "I")}
    assert g["ei_structure"] is None
    assert "need them" in (tmp_path / "now" / HTML_NAME).read_text()


def test_no_delays_no_section(nets, tmp_path):
    net, rec = nets["plain"]
    w, s = net.weights_numpy()
    write_report(rec, tmp_path / "p", weights=w, signs=s, progress=False, options=FAST)
    summ = json.loads((tmp_path / "p" / SUMMARY_NAME).read_text())
    assert "delays" not in summ and "delays" not in summ["figures"] and not (tmp_path / "p" / "delays.png").exists()
    assert "Transmission delays" not in (tmp_path / "p" / HTML_NAME).read_text()
