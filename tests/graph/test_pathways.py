"""Class pathways on a hand-built weight graph with known answers; overlap and its chance value;
class-specific activity of pathway units; the weight graph and GraphML export; errors."""

import networkx as nx
import numpy as np
import pytest

from synsem_ephys.graph import (class_pathways, pathway_graph, pathway_overlap, weight_graph,
                                write_graphml)
from synsem_ephys.analysis import pathway_activity
from synsem_ephys.graph.pathways import _chance_jaccard
from synsem_ephys.record import SpikeRecord, UnitTable
from synsem_ephys.spec import NetworkSpec

SPEC = NetworkSpec(n_inputs=2, hidden=((3, 1), (2, 1)), n_outputs=2)
#             h1_E0 h1_E1 h1_E2 h1_I0
W0 = np.array([[0.5, 0.5, 0.5, 0.5],
               [0.5, -0.2, 0.5, 0.5]])
#              h2_E0 h2_E1 h2_I0
W1 = np.array([[1.0, 0.1, 0.5],     # h1_E0: drives h2_E0
               [0.2, 0.9, 0.5],     # h1_E1: drives h2_E1
               [0.05, 0.3, 2.0],    # h1_E2: mostly drives the inhibitory h2_I0
               [-5.0, -5.0, -5.0]])  # h1_I0: inhibitory, never on a pathway
#              out0 out1
W2 = np.array([[1.0, 0.1],
               [0.2, 0.8],
               [-3.0, -3.0]])
WEIGHTS = [W0, W1, W2]
SIGNS = [np.array(SPEC.presyn_signs(l)) for l in range(3)]


def test_influence_pathways_known_answer():
    pw = class_pathways(WEIGHTS, SIGNS, method="influence", top_k=1)
    assert pw.layers == (1, 2) and pw.dale and pw.n_excitatory.tolist() == [3, 2]
    # layer 2: direct weights onto out0 / out1 -> h2_E0 / h2_E1
    np.testing.assert_array_equal(pw.members[1], [[1, 0, 0], [0, 1, 0]])
    # layer 1: path strengths 1*1 + 0.1*0.2 = 1.02 (E0), 0.38, 0.11 for out0; 0.18, 0.74, 0.245 for out1
    np.testing.assert_allclose(pw.influence[0][0] * 1.02, [1.02, 0.38, 0.11, 0.0])
    np.testing.assert_allclose(pw.influence[0][1] * 0.74, [0.18, 0.74, 0.245, 0.0])
    np.testing.assert_array_equal(pw.members[0], [[1, 0, 0, 0], [0, 1, 0, 0]])
    assert pw.node_names[0].tolist() == ["hidden1_E_0", "hidden1_E_1", "hidden1_E_2", "hidden1_I_0"]
    pw2 = class_pathways(WEIGHTS, SIGNS, method="influence", top_k=2)
    np.testing.assert_array_equal(pw2.members[0], [[1, 1, 0, 0], [0, 1, 1, 0]])
    ov = pathway_overlap(pw2)
    np.testing.assert_allclose(ov.mean_jaccard, [1 / 3, 1.0])
    np.testing.assert_allclose(ov.mean_size, [2.0, 2.0])
    # chance: two random 2-sets of 3 units are equal (J = 1) with p = 1/3, else share one (J = 1/3): 5/9;
    # two 2-sets of 2 units are equal: 1
    np.testing.assert_allclose(ov.chance_jaccard, [5 / 9, 1.0])


def test_ancestor_pathways_known_answer():
    pw = class_pathways(WEIGHTS, SIGNS, method="ancestors", top_k=1)
    np.testing.assert_array_equal(pw.members[1], [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(pw.members[0], [[1, 0, 0, 0], [0, 1, 0, 0]])
    assert pw.influence is None
    ov = pathway_overlap(pw)
    np.testing.assert_allclose(ov.mean_jaccard, [0.0, 0.0])
    # quantile 0: every positive excitatory edge is strong -> every E unit with an E path is an ancestor
    allp = class_pathways(WEIGHTS, SIGNS, method="ancestors", quantile=0.0)
    np.testing.assert_array_equal(allp.members[0], [[1, 1, 1, 0], [1, 1, 1, 0]])
    # same answer from networkx on the graph of strong edges
    g = weight_graph(WEIGHTS, SIGNS, spec=SPEC, excitatory_only=True)
    anc = nx.ancestors(g, "output_0")
    assert {n for n in anc if g.nodes[n]["layer"] == 1} == {"hidden1_E_0", "hidden1_E_1", "hidden1_E_2"}


def test_chance_jaccard_matches_simulation():
    rng = np.random.default_rng(0)
    n, s1, s2 = 30, 6, 9
    sim = []
    for _ in range(20000):
        a = set(rng.choice(n, s1, replace=False).tolist())
        b = set(rng.choice(n, s2, replace=False).tolist())
        sim.append(len(a & b) / len(a | b))
    assert _chance_jaccard(n, s1, s2) == pytest.approx(np.mean(sim), abs=0.003)


def _record(n_trials=40, seed=0):
    """Recording of SPEC: h1_E0 / h2_E0 fire only for class 0, h1_E1 / h2_E1 only for class 1, others always."""
    rng = np.random.default_rng(seed)
    lab = np.arange(n_trials) % 2
    layers = [rng.uniform(0, 5, (n_trials, n)) for n in SPEC.layer_sizes]
    for l in (1, 2):
        layers[l] += 5.0 * l
        layers[l][lab != 0, 0] = np.inf
        layers[l][lab != 1, 1] = np.inf
    return SpikeRecord.from_layer_times(layers, SPEC.populations(), labels=lab)


def test_pathway_activity_own_vs_other():
    pw = class_pathways(WEIGHTS, SIGNS, top_k=1)
    act = pathway_activity(pw, _record())
    np.testing.assert_allclose(act.own, [1.0, 1.0])
    np.testing.assert_allclose(act.other, [0.0, 0.0])
    assert act.n_pairs.tolist() == [2, 2] and np.all(np.isnan(act.ratio))
    pw2 = class_pathways(WEIGHTS, SIGNS, top_k=2)   # layer 1 adds always-active units
    act2 = pathway_activity(pw2, _record())
    np.testing.assert_allclose(act2.own[0], 0.75)  # class 0: {E0: 1, E1: 0}; class 1: {E1: 1, E2: 1}
    np.testing.assert_allclose(act2.other[0], 0.5)  # class 0: {E0: 0, E1: 1}; class 1: {E1: 0, E2: 1}
    with pytest.raises(ValueError, match="units in layer"):
        bad = NetworkSpec(n_inputs=2, hidden=((3, 1), (3, 1)), n_outputs=2)
        pathway_activity(class_pathways([W0, np.ones((4, 4)), np.ones((4, 2))], spec=bad, top_k=1), _record())


def test_weight_graph_and_graphml_round_trip(tmp_path):
    g = weight_graph(WEIGHTS, spec=SPEC)
    names = UnitTable.from_populations(SPEC.populations()).name.tolist()
    assert sorted(g.nodes) == sorted(names) and g.number_of_nodes() == 11
    assert g.number_of_edges() == sum(int(np.count_nonzero(w)) for w in WEIGHTS)
    assert g.nodes["hidden2_I_0"] == {"layer": 2, "population": "hidden2_I", "index": 2, "index_in_population": 0,
                                      "cell_type": "I"}
    assert g.edges["hidden1_E_2", "hidden2_I_0"] == {"weight": 2.0, "sign": 1}
    ge = weight_graph(WEIGHTS, spec=SPEC, excitatory_only=True, min_abs_weight=0.25)
    assert all(d["sign"] == 1 and d["weight"] > 0.25 for _, _, d in ge.edges(data=True))
    with pytest.raises(ValueError, match="max_edges"):
        weight_graph(WEIGHTS, spec=SPEC, max_edges=3)
    pw = class_pathways(WEIGHTS, SIGNS, top_k=1)
    pg = pathway_graph(pw, WEIGHTS, SIGNS, spec=SPEC)
    assert set(pg.nodes) == {"hidden1_E_0", "hidden1_E_1", "hidden2_E_0", "hidden2_E_1", "output_0", "output_1"}
    assert pg.nodes["hidden1_E_1"]["classes"] == "1"
    assert set(pg.edges) == {("hidden1_E_0", "hidden2_E_0"), ("hidden1_E_1", "hidden2_E_1"),
                             ("hidden2_E_0", "output_0"), ("hidden2_E_1", "output_1")}
    path = write_graphml(pg, tmp_path / "p.graphml")
    back = nx.read_graphml(path)
    assert set(back.nodes) == set(pg.nodes) and set(back.edges) == set(pg.edges)
    assert back.nodes["output_1"]["layer"] == 3 and back.edges["hidden2_E_0", "output_0"]["weight"] == 1.0


def test_no_dale_network_counts_every_unit():
    spec = NetworkSpec(n_inputs=2, hidden=((3, 0),), n_outputs=2, dale=False)
    w = [np.ones((2, 3)), np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5]])]
    pw = class_pathways(w, spec=spec, top_k=1)
    assert not pw.dale and pw.n_excitatory.tolist() == [3]
    np.testing.assert_array_equal(pw.members[0], [[1, 0, 0], [0, 1, 0]])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="signs"):
        class_pathways(WEIGHTS)
    with pytest.raises(ValueError, match=r"weights\[1\]: expected 4 rows"):
        class_pathways([W0, W1[:3], W2], spec=SPEC)
    with pytest.raises(ValueError, match="method"):
        class_pathways(WEIGHTS, SIGNS, method="magic")
    with pytest.raises(ValueError, match="quantile"):
        class_pathways(WEIGHTS, SIGNS, quantile=1.5)
    with pytest.raises(ValueError, match="weights: expected a non-empty list"):
        class_pathways(np.ones((2, 2)), SIGNS)


def test_shuffled_weight_null_keeps_dale_and_value_sets():
    from synsem_ephys.graph import shuffle_weights

    a = shuffle_weights(WEIGHTS, SIGNS, seed=3)
    b = shuffle_weights(WEIGHTS, spec=SPEC, seed=3)
    for w, x, y, s in zip(WEIGHTS, a, b, SIGNS):
        np.testing.assert_array_equal(x, y)
        for val in (-1, 0, 1):
            rows = s == val
            np.testing.assert_array_equal(np.sort(x[rows].ravel()), np.sort(w[rows].ravel()))
    assert not all(np.array_equal(w, x) for w, x in zip(WEIGHTS, a))
