r"""A trained feedforward network's weights as data: checked matrices, populations, graphs, the null model.

Weights ``W_l`` (n_pre, n_post) map layer ``l`` to layer ``l + 1`` (layer 0 = input, the last layer =
output); ``s_l`` are the presynaptic signs (+1 excitatory, -1 inhibitory, 0 unconstrained). A row with
``s_l[i] > 0`` is excitatory; rows with ``s_l[i] == 0`` count as excitatory only in a network without any
signed rows (:func:`exc_rows`).

Unit (node) names follow :func:`synsem_ephys.spec.unit_name`, the rule of the record's unit table.

Null model (:func:`shuffle_weights`): each matrix's entries permuted within its excitatory rows, within
its inhibitory rows and within its unconstrained rows (seeded). It keeps Dale's law, the weight
distribution of every cell type and the layer sizes, and destroys which unit connects to which.
"""

import numpy as np

from ..errors import input_error
from ..spec import unit_name

__all__ = ["check_weights", "layer_populations", "exc_rows", "weight_graph", "write_graphml", "shuffle_weights"]


def check_weights(weights, signs, spec):
    """(weights as float arrays, signs as int arrays) checked against each other; signs from ``spec`` if None."""
    if spec is not None:
        signs = [np.asarray(spec.presyn_signs(l)) for l in range(spec.n_layers)] if signs is None else signs
    if not isinstance(weights, (list, tuple)) or not weights:
        raise input_error("weights", "a non-empty list of 2-D arrays (n_pre, n_post)", type(weights).__name__,
                          "Pass net.weights_numpy()[0] for a synsem_ephys Network.")
    ws = []
    for l, w in enumerate(weights):
        w = np.asarray(w, dtype=float)
        if w.ndim != 2:
            raise input_error(f"weights[{l}]", "a 2-D array", f"shape {w.shape}")
        if l and w.shape[0] != ws[-1].shape[1]:
            raise input_error(f"weights[{l}]", f"{ws[-1].shape[1]} rows (columns of weights[{l - 1}])", w.shape[0])
        ws.append(w)
    if signs is None:
        raise input_error("signs", "one array of presynaptic signs (+1/-1/0) per weight matrix",
                          "None", "Pass signs=net.weights_numpy()[1] or spec=NetworkSpec.")
    if len(signs) != len(ws):
        raise input_error("signs", f"{len(ws)} arrays (one per weight matrix)", len(signs))
    ss = []
    for l, (s, w) in enumerate(zip(signs, ws)):
        s = np.asarray(s).astype(np.int64).ravel()
        if s.shape != (w.shape[0],) or not np.all(np.isin(s, (-1, 0, 1))):
            raise input_error(f"signs[{l}]", f"{w.shape[0]} values in (+1, -1, 0)", f"shape {s.shape}")
        ss.append(s)
    return ws, ss


def layer_populations(weights, signs, spec=None):
    """Per layer: (population name, cell type) of each unit, from ``spec`` or from the signs."""
    sizes = [weights[0].shape[0]] + [w.shape[1] for w in weights]
    n = len(sizes)
    if spec is not None:
        if list(spec.layer_sizes) != sizes:
            raise input_error("spec", f"layer sizes {sizes} (as the weights)", list(spec.layer_sizes))
        out = [(np.empty(s, dtype=object), np.empty(s, dtype=object), np.zeros(s, np.int64)) for s in sizes]
        for p in spec.populations():
            out[p.layer][0][p.start:p.stop] = p.name
            out[p.layer][1][p.start:p.stop] = p.cell_type
            out[p.layer][2][p.start:p.stop] = np.arange(p.size)
        return [(a.astype(str), b.astype(str), c) for a, b, c in out]
    out = []
    for l in range(n):
        if l == 0:
            pop, ct = np.full(sizes[0], "input"), np.full(sizes[0], "input")
        elif l == n - 1:
            pop, ct = np.full(sizes[l], "output"), np.full(sizes[l], "output")
        else:
            s = signs[l]
            ct = np.where(s > 0, "E", np.where(s < 0, "I", "hidden"))
            pop = np.array([f"hidden{l}_{c}" if c != "hidden" else f"hidden{l}" for c in ct])
        idx = np.zeros(sizes[l], np.int64)
        for p in np.unique(pop):
            idx[pop == p] = np.arange(np.sum(pop == p))
        out.append((pop, ct, idx))
    return out


def _node(pop, idx):
    return unit_name(pop, idx)


def exc_rows(signs):
    """Which presynaptic rows count as excitatory, per weight matrix (see the module docstring)."""
    dale = any(np.any(s != 0) for s in signs[1:])
    return [(s > 0) if dale else (s >= 0) for s in signs], dale


# ----------------------------------------------------------------------------------------- graph
def weight_graph(weights, signs=None, *, spec=None, min_abs_weight=0.0, excitatory_only=False, max_edges=2_000_000):
    """The network as a ``networkx.DiGraph``.

    Nodes are unit names (``"hidden2_E_17"``, as in the record's unit table) with attributes
    ``layer``, ``population``, ``index`` (position in the layer), ``index_in_population`` and
    ``cell_type``; edges carry ``weight`` and the presynaptic ``sign``.

    Parameters
    ----------
    weights : list of ndarray (n_pre, n_post)
    signs : list of ndarray, optional
        Presynaptic signs per matrix (default from ``spec``).
    spec : NetworkSpec, optional
        Population names; without it they are derived from the signs.
    min_abs_weight : float
        Keep edges with ``|w| > min_abs_weight``.
    excitatory_only : bool
        Keep only edges leaving excitatory units with ``w > 0``.
    max_edges : int
        Refuse to build larger graphs (networkx needs ~0.5 kB per edge).
    """
    import networkx as nx

    ws, ss = check_weights(weights, signs, spec)
    pops = layer_populations(ws, ss, spec)
    exc, _ = exc_rows(ss)
    g = nx.DiGraph()
    for l, (pop, ct, idx) in enumerate(pops):
        g.add_nodes_from((_node(p, i), {"layer": l, "population": str(p), "index": k, "index_in_population": int(i),
                                        "cell_type": str(c)}) for k, (p, c, i) in enumerate(zip(pop, ct, idx)))
    masks = []
    for l, w in enumerate(ws):
        m = np.abs(w) > float(min_abs_weight)
        if excitatory_only:
            m &= (w > 0) & exc[l][:, None]
        masks.append(m)
    total = int(sum(m.sum() for m in masks))
    if total > int(max_edges):
        raise input_error("min_abs_weight", f"a threshold leaving <= max_edges={max_edges} edges",
                          f"{total} edges", "Raise min_abs_weight, pass excitatory_only=True or raise max_edges.")
    for l, (w, m) in enumerate(zip(ws, masks)):
        pre = [_node(p, i) for p, i in zip(pops[l][0], pops[l][2])]
        post = [_node(p, i) for p, i in zip(pops[l + 1][0], pops[l + 1][2])]
        r, c = np.nonzero(m)
        g.add_edges_from((pre[a], post[b], {"weight": float(w[a, b]), "sign": int(ss[l][a])})
                         for a, b in zip(r.tolist(), c.tolist()))
    return g


def write_graphml(graph, path):
    """Write ``graph`` as GraphML (for Gephi, Cytoscape, igraph); returns the path."""
    import networkx as nx

    nx.write_graphml(graph, str(path))
    return path


# ----------------------------------------------------------------------------------------- pathways


def shuffle_weights(weights, signs=None, *, spec=None, seed=0):
    """Weights with entries permuted within the rows of each sign class (see the module docstring)."""
    ws, ss = check_weights(weights, signs, spec)
    rng = np.random.default_rng(seed)
    out = []
    for w, s in zip(ws, ss):
        w = w.copy()
        for val in (-1, 0, 1):
            rows = np.flatnonzero(s == val)
            if rows.size:
                block = w[rows].ravel()
                w[rows] = rng.permutation(block).reshape(rows.size, w.shape[1])
        out.append(w)
    return out
