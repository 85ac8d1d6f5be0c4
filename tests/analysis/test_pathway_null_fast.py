"""The pathway null computes the recording's class probabilities once: every shuffle's selectivity still equals
``pathway_activity`` of that shuffle's pathways, and the cached chance Jaccard equals scipy's uncached value."""

import numpy as np
import pytest

from synsem_ephys.analysis import pathway_activity
from synsem_ephys.analysis.pathways import pathway_null
from synsem_ephys.graph import class_pathways, pathway_overlap, shuffle_weights
from synsem_ephys.graph.pathways import _chance_jaccard
from synsem_ephys.record import SpikeRecord
from synsem_ephys.spec import NetworkSpec

SPEC = NetworkSpec(n_inputs=8, hidden=((6, 2), (5, 2)), n_outputs=3)


def _network_and_record(n_trials=30, seed=0):
    rng = np.random.default_rng(seed)
    sizes = SPEC.layer_sizes
    signs = [np.asarray(SPEC.presyn_signs(l)) for l in range(SPEC.n_layers)]
    weights = [np.abs(rng.normal(size=(a, b))) * s[:, None] for a, b, s in zip(sizes[:-1], sizes[1:], signs)]
    layers = [np.where(rng.random((n_trials, n)) < 0.6, rng.uniform(0, 20, (n_trials, n)), np.inf) for n in sizes]
    lab = rng.integers(0, SPEC.n_outputs, n_trials)
    return weights, signs, SpikeRecord.from_layer_times(layers, SPEC.populations(), labels=lab)


@pytest.mark.parametrize("active", ["any", "before_decision"])
def test_null_selectivity_equals_pathway_activity_of_each_shuffle(active):
    weights, signs, rec = _network_and_record()
    nul = pathway_null(weights, signs, rec, spec=SPEC, n_shuffles=3, seed=7, quantile=0.6, active=active)
    pw = class_pathways(weights, signs, spec=SPEC, quantile=0.6)
    np.testing.assert_array_equal(nul.selectivity, pathway_activity(pw, rec, active=active).ratio)
    np.testing.assert_array_equal(nul.overlap, pathway_overlap(pw).mean_jaccard)
    for k in range(3):
        pk = class_pathways(shuffle_weights(weights, signs, spec=SPEC, seed=7 + k), signs, spec=SPEC, quantile=0.6)
        np.testing.assert_array_equal(nul.selectivity_null[k], pathway_activity(pk, rec, active=active).ratio)
        np.testing.assert_array_equal(nul.overlap_null[k], pathway_overlap(pk).mean_jaccard)
    assert np.any(np.isfinite(nul.selectivity_null))


def test_cached_chance_jaccard_equals_uncached():
    for n, s1, s2 in [(30, 6, 9), (400, 40, 40), (10, 0, 3), (5, 5, 5), (0, 0, 0)]:
        a, b = _chance_jaccard(n, s1, s2), _chance_jaccard.__wrapped__(n, s1, s2)
        assert (np.isnan(a) and np.isnan(b)) or a == b
        assert _chance_jaccard(n, s1, s2) is a or np.isnan(a)  # served from the cache
