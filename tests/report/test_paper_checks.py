"""The paper's analyses on the published fast-and-deep network (Kurth, Oberste-Frielinghaus et al. 2025):
the package's numbers under the paper's definitions equal a direct computation from the raw dumps, and the
report's checks show the paper's claims on the network the paper is about."""

import math

import numpy as np
import pytest

from synsem_ephys._files import data_root

RUN = data_root("fastanddeep", "mnist_eightlayer_seed1_daleslaw")
TAU = 5.0
pytestmark = pytest.mark.skipif(not RUN.is_dir(), reason=f"published run folder {RUN} absent (set SYNSEM_DATA)")


@pytest.fixture(scope="module")
def published():
    from synsem_ephys.adapters import fastanddeep as fd

    net = fd.load_network(RUN, tau_syn_ms=TAU)
    rec = fd.load_recording(RUN, tau_syn_ms=TAU)
    assert (rec.trials.label >= 0).all(), rec.meta["labels_from"]
    return net, rec


def _direct_ig(active, labels):
    """IG = (H(C) - H(C | active)) / H(C) by explicit counting, one unit at a time (no correction, no minimum)."""
    def h(lab):
        _, n = np.unique(lab, return_counts=True)
        p = n / n.sum()
        return -sum(q * math.log2(q) for q in p)

    hc = h(labels)
    return np.array([(hc - h(labels[a])) / hc if a.any() else np.nan for a in active.T])


def test_paper_definitions_equal_a_direct_computation_from_the_dumps(published):
    from synsem_ephys.analysis import information_gain, pulse_packets, summarize_by_group
    from synsem_ephys.analysis.dispersion import dispersion

    _, rec = published
    hid = np.load(RUN / "spiketimes_hiddens_trained.npy") * TAU       # (8, trials, 100), +inf = silent
    out = np.load(RUN / "spiketimes_outputs_trained.npy") * TAU
    dec = out.min(axis=1)                                              # the decision: first output spike
    labels = rec.trials.label
    ig = information_gain(rec, active="before_decision", correction="none", min_active_trials=1)
    summ = summarize_by_group(ig, rec)
    pk = pulse_packets(dispersion(rec, packet="before_decision"), ddof=1)
    for k in range(hid.shape[0]):
        strict = hid[k] < dec[:, None]                                 # active = a spike strictly before it
        direct = _direct_ig(strict, labels)
        for ct, cols in (("E", slice(0, 75)), ("I", slice(75, 100))):
            mine = next(s for s in summ if s.layer == k + 1 and s.cell_type == ct)
            assert mine.median == pytest.approx(np.nanmedian(direct[cols]), abs=1e-12), (k, ct)
        sds = [np.std(t[t < d], ddof=1) for t, d in zip(hid[k], dec) if np.sum(t < d) >= 2]
        assert pk.sigma_median_ms[k + 1] == pytest.approx(np.median(sds), rel=1e-12), k
        pooled = np.concatenate([t[t < d] for t, d in zip(hid[k], dec)])
        assert pk.sigma_pooled_ms[k + 1] == pytest.approx(np.std(pooled, ddof=1), rel=1e-12), k
    # ties with the decision time are common on the integrator's grid: the two definitions differ
    ties = int(np.sum(hid == dec[None, :, None]))
    assert ties > 0


def test_report_checks_show_the_papers_claims_on_the_published_network(published):
    from synsem_ephys.report import ReportOptions, analyze

    net, rec = published
    ws, signs = net.weights_numpy()
    res = analyze(rec, weights=ws, signs=signs, spec=net.spec,
                  options=ReportOptions.paper(n_pathway_shuffles=20, complexity_trials=0))
    verdicts = {c.name: c.passed for c in res.checks}
    assert verdicts == {"spread_then_reconverges": True, "ig_E_rises": True, "ig_I_lower": True,
                        "pathways_distinct": True, "pathway_selectivity_rises": True}, \
        {c.name: c.detail for c in res.checks}
    assert all("strictly before" in c.definition or "packet" in c.definition for c in res.checks)
