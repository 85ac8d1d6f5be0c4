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


def test_the_network_at_initialisation_is_the_third_null(nets, tmp_path, monkeypatch):
    from synsem_ephys.analysis.ei_structure import ei_statistics, receptive_field_centres
    from synsem_ephys.report import figures
    from synsem_ephys.sim import Network

    net, rec = nets["delays"]
    w, s = net.weights_numpy()
    net0 = Network(net.spec, seed=4, delay_init="uniform")  # another initialisation: its statistics differ
    w0, d0 = net0.weights_numpy()[0], net0.delays_numpy()
    seen = {}
    draw = figures.delay_figure

    def spy(dist, path, initial=None):
        seen["dist"], seen["initial"] = dist, initial
        return draw(dist, path, initial=initial)

    monkeypatch.setattr(figures, "delay_figure", spy)
    write_report(rec, tmp_path / "i", weights=w, signs=s, progress=False, options=FAST,
                 initial={"weights": w0, "delays": d0, "source": "net0.pt"})
    g = json.loads((tmp_path / "i" / SUMMARY_NAME).read_text())["delays"]
    assert g["initial"] == "net0.pt" and "net0.pt" in g["nulls"]["initial"]
    assert g["null_names"] == ["delay_shuffle", "sign_shuffle"]  # the permutation nulls; the initial one beside
    for e in g["ei_structure"]:
        l = e["matrix"]
        at0 = ei_statistics(w0[l], d0[l], s[l], space=np.nan_to_num(receptive_field_centres(w0)[l], nan=-1.0),
                            n_perm=0).summary
        assert e["initial"] == pytest.approx(at0, rel=1e-12, nan_ok=True)
        for k, v in e["change_from_initial"].items():
            assert v == pytest.approx(e["summary"][k] - at0[k], rel=1e-9, abs=1e-12)
    assert g["ei_structure"][0]["initial"]["delta_delay_ms"] != pytest.approx(g["ei_structure"][0]["summary"]
                                                                              ["delta_delay_ms"])
    # the initial delay histograms on the current bins (the range covers both), dashed in the figure
    init = seen["initial"]
    assert init is not None and init.matrices == seen["dist"].matrices == (0, 1)
    for l, e0, e in zip(init.matrices, init.edges_ms, seen["dist"].edges_ms):
        assert np.array_equal(e0, e) and e[-1] >= max(d0[l].max(), net.delays_numpy()[l].max()) - 1e-12
    assert sum(sum(c) for c in g["matrices"][0]["counts_initial"].values()) == int((w0[0] != 0).sum())
    assert {(r["matrix"], r["type"]) for r in g["by_type_initial"]} == {(r["matrix"], r["type"]) for r in g["by_type"]}
    page = (tmp_path / "i" / HTML_NAME).read_text()
    assert "initial (at init)" in page and "observed - initial" in page and "net0.pt" in page
    assert "was not given" not in page
    # without it the page says that the third null is missing, and the summary has no initial values
    write_report(rec, tmp_path / "n", weights=w, signs=s, progress=False, options=FAST)
    g = json.loads((tmp_path / "n" / SUMMARY_NAME).read_text())["delays"]
    assert g["initial"] is None and "initial" not in g["nulls"] and "initial" not in g["ei_structure"][0]
    assert "was not given" in (tmp_path / "n" / HTML_NAME).read_text()
    # the same as a (weights, delays) pair
    write_report(rec, tmp_path / "t", weights=w, signs=s, progress=False, options=FAST, initial=(w0, d0))
    g2 = json.loads((tmp_path / "t" / SUMMARY_NAME).read_text())["delays"]
    assert g2["ei_structure"][1]["initial"] == pytest.approx(at0, rel=1e-12, nan_ok=True) and g2["initial"] == "given"


@pytest.mark.parametrize("bad, match", [
    (lambda w, d: (w[:1], d), "initial weights: expected one entry per weight matrix"),
    (lambda w, d: ([w[0][:5], w[1]], d), r"initial weights\[0\]: expected the weights' shape"),
    (lambda w, d: (w, [d[0], None]), r"initial delays\[1\]"),
    (lambda w, d: {"weights": w}, "initial: expected a dict with the keys"),
    (lambda w, d: w[0], "initial: expected"),
])
def test_initial_errors_name_the_argument(nets, tmp_path, bad, match):
    net, rec = nets["delays"]
    w, s = net.weights_numpy()
    with pytest.raises(ValueError, match=match):
        write_report(rec, tmp_path / "e", weights=w, signs=s, progress=False, options=FAST,
                     initial=bad(w, net.delays_numpy()))


def test_no_delays_no_section_even_with_an_initial_network(nets):
    net, rec = nets["plain"]
    w, s = net.weights_numpy()
    from synsem_ephys.report import analyze
    from synsem_ephys.report.summary import summary_dict

    ref = analyze(rec, weights=w, signs=s, options=FAST)
    res = analyze(rec, weights=w, signs=s, options=FAST, initial=(w, [None, None]))
    a, b = summary_dict(ref), summary_dict(res)
    assert ref.delays is None and res.delays is None and "delays" not in b
    for d in (a, b):
        d.pop("seconds")
    assert a == b


def test_arrival_order_of_e_and_i_inputs_in_the_report(nets):
    from synsem_ephys.analysis.ei_structure import arrival_order

    net, rec = nets["delays"]
    w, s = net.weights_numpy()
    d = net.delays_numpy()
    from synsem_ephys.report import analyze
    from synsem_ephys.report.html import render_html
    from synsem_ephys.report.summary import summary_dict

    summ = summary_dict(analyze(rec, weights=w, signs=s, options=FAST))
    g = summ["delays"]["arrival_order"]
    assert "first spike" in g["spikes"] and "plus the synapse's delay" in g["spikes"]
    assert "postsynaptic spike times kept" in g["nulls"]
    first = rec.first_spike_matrix()
    layer = np.asarray(rec.units.layer)
    assert [m["matrix"] for m in g["matrices"]] == [0, 1]
    for m in g["matrices"]:
        l = m["matrix"]
        direct = arrival_order(first[:, layer == l], first[:, layer == l + 1], w[l], d[l], s[l], n_perm=20, seed=l)
        assert m["n_trials"] == rec.n_trials and m["summary"] == pytest.approx(direct.summary, rel=1e-12)
        assert {(t["statistic"], t["null"]): t["p"] for t in m["tests"]} == \
            pytest.approx({(t.statistic, t.null): t.p for t in direct.tests.values()})
    assert g["matrices"][1]["summary"]["n_pairs"] > 0
    page = render_html(dict(summ, figures={}))
    assert "Arrival order of E and I inputs within a trial" in page and "frac_inh_later_arrival" in page


def test_a_record_without_delays_in_its_meta_gets_them_from_the_network(nets, tmp_path):
    from synsem_ephys.io import write_nix
    from synsem_ephys.report import analyze_file

    net, rec = nets["delays"]
    w, s = net.weights_numpy()
    t_in = rec.first_spike_matrix()[:40, np.asarray(rec.units.layer) == 0]
    rec = net.record(t_in, labels=rec.trials.label[:40])
    ref = write_report(rec, tmp_path / "ref", weights=w, signs=s, progress=False, options=FAST)
    nix = write_nix(net.record(t_in, labels=rec.trials.label, delays_in_meta=False), tmp_path / "bare.nix")
    got = analyze_file(nix, tmp_path / "net", weights=w, signs=s, progress=False, options=FAST,
                       network_delays=net.delays_numpy())
    a, b = (json.loads(r.summary.read_text())["delays"] for r in (got, ref))
    assert a == b
    # a file with delays keeps its own (what was simulated): the network's are not used then
    other = [None if x is None else x * 0.5 for x in net.delays_numpy()]
    full = analyze_file(write_nix(rec, tmp_path / "full.nix"), tmp_path / "full", weights=w, signs=s,
                        progress=False, options=FAST, network_delays=other)
    assert json.loads(full.summary.read_text())["delays"] == b


def test_arrival_max_entries_caps_the_trials_of_the_arrival_order(nets):
    """``ReportOptions.arrival_max_entries`` bounds trials x synapses of the arrival order; the summary says how many
    trials were used; a bad value names the option."""
    from dataclasses import replace

    from synsem_ephys.report import analyze
    from synsem_ephys.report.summary import summary_dict

    net, rec = nets["delays"]
    w, s = net.weights_numpy()
    sizes = [a.size for a in w]
    cap = 3 * sizes[0]
    summ = summary_dict(analyze(rec, weights=w, signs=s, options=replace(FAST, arrival_max_entries=cap)))
    got = {m["matrix"]: m["n_trials"] for m in summ["delays"]["arrival_order"]["matrices"]}
    assert got == {l: min(rec.n_trials, max(1, cap // n)) for l, n in enumerate(sizes)} and got[0] == 3
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="options.arrival_max_entries"):
            analyze(rec, weights=w, signs=s, options=replace(FAST, arrival_max_entries=bad))
