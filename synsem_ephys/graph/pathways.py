r"""Class pathways through a trained feedforward network, found back from each output unit.

Weights ``W_l`` (n_pre, n_post) map layer ``l`` to layer ``l + 1`` (layer 0 = input, the last layer =
output); ``s_l`` are the presynaptic signs (+1 excitatory, -1 inhibitory, 0 unconstrained). The
rectified excitatory weights are ``E_l[i, j] = max(W_l[i, j], 0)`` for rows with ``s_l[i] > 0`` (rows
with ``s_l[i] == 0`` count as excitatory only in a network without any signed rows) and 0 otherwise.

``method="influence"`` (products of rectified excitatory weight matrices): the excitatory path
strength of unit ``i`` of hidden layer ``h`` onto output ``k`` is::

    v_out = e_k,     v_h = E_h v_{h+1}      (h = L, ..., 1)

and the class-``k`` pathway of layer ``h`` holds the excitatory units with ``v_h > 0`` whose ``v_h`` is in
the top ``1 - quantile`` share of the layer's excitatory units (or the ``top_k`` largest).

``method="ancestors"``: an excitatory edge ``i -> j`` is *strong* if its weight is at least the
``quantile`` quantile of ``j``'s positive excitatory input weights (or among ``j``'s ``top_k`` largest);
the class-``k`` pathway is the set of excitatory ancestors of output ``k`` over strong edges.

Overlap of layer ``h``: mean Jaccard index ``|P_k & P_k'| / |P_k | P_k'|`` over class pairs ``k < k'``,
beside its chance value for random sets of the same sizes among the layer's ``n`` excitatory units:
``E[X / (s + s' - X)]`` with ``X ~ Hypergeometric(n, s, s')``.

Null model (:func:`shuffle_weights`): each matrix's entries permuted within its excitatory rows, within
its inhibitory rows and within its unconstrained rows (seeded). It keeps Dale's law, the weight
distribution of every cell type and the layer sizes, and destroys which unit connects to which. A
depth profile of the overlap that the null shows as well comes from the measure, not from learning.

Activity of a pathway unit ``u`` of class ``k``: ``P(active | k)`` against the mean of
``P(active | c)`` over the other classes ``c != k``.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import input_error

__all__ = ["ClassPathways", "PathwayOverlap", "PathwayActivity", "weight_graph", "class_pathways",
           "pathway_overlap", "pathway_activity", "pathway_graph", "write_graphml", "layer_populations",
           "shuffle_weights"]


# ----------------------------------------------------------------------------------------- inputs
def _check(weights, signs, spec):
    if spec is not None:
        signs = [np.asarray(spec.presyn_signs(l)) for l in range(spec.n_layers)] if signs is None else signs
    if not isinstance(weights, (list, tuple)) or not weights:
        raise input_error("weights", "a non-empty list of 2-D arrays (n_pre, n_post)", type(weights).__name__,
                          "Convert a Network with [W.detach().cpu().numpy() for W in net.weights].")
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
                          "None", "Pass signs=[net.sign(l).numpy() ...] or spec=NetworkSpec.")
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
    return f"{pop}_{idx}"


def _exc_rows(signs):
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

    ws, ss = _check(weights, signs, spec)
    pops = layer_populations(ws, ss, spec)
    exc, _ = _exc_rows(ss)
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
@dataclass(frozen=True, eq=False)
class ClassPathways:
    """Class pathways per hidden layer.

    Attributes
    ----------
    layers : tuple of int
        Hidden layers (1 .. L).
    members : tuple of ndarray of bool, each (n_classes, n_units_in_layer)
        ``members[i][k, u]``: unit ``u`` of layer ``layers[i]`` is in the pathway of output ``k``.
    influence : tuple of ndarray (n_classes, n_units_in_layer) or None
        Excitatory path strength ``v_h`` (method "influence").
    n_excitatory : ndarray of int64
        Excitatory units per hidden layer (the candidates).
    node_names : tuple of ndarray of str
        Unit names per hidden layer (as in :func:`weight_graph`).
    method, parameters : str
    dale : bool
        Whether the network has signed (Dale) rows; without them every unit counts as excitatory.
    """

    layers: tuple
    members: tuple
    influence: tuple
    n_excitatory: np.ndarray
    node_names: tuple
    method: str
    parameters: str
    dale: bool

    @property
    def n_classes(self):
        return self.members[0].shape[0] if self.members else 0

    def sizes(self):
        """Pathway sizes, (n_layers, n_classes)."""
        return np.array([m.sum(axis=1) for m in self.members], np.int64)


def _top(values, cand, quantile, top_k):
    """Boolean mask of the strongest candidates: top_k largest, or >= the quantile among candidates."""
    out = np.zeros(values.shape, bool)
    v = np.where(cand & (values > 0), values, -np.inf)
    if not np.any(np.isfinite(v)):
        return out
    if top_k is not None:
        k = min(int(top_k), int(np.isfinite(v).sum()))
        out[np.argsort(-v, kind="stable")[:k]] = True
        return out
    thr = np.quantile(values[cand], quantile)
    return np.isfinite(v) & (values >= thr) & (values > 0)


def class_pathways(weights, signs=None, *, spec=None, method="influence", quantile=0.9, top_k=None):
    """Class pathways back from every output unit (see the module docstring).

    Parameters
    ----------
    weights : list of ndarray (n_pre, n_post)
    signs : list of ndarray, optional
        Presynaptic signs (+1 E / -1 I / 0); default from ``spec``.
    spec : NetworkSpec, optional
    method : {"influence", "ancestors"}
    quantile : float in [0, 1)
        "influence": keep excitatory units at or above this quantile of the layer's path strengths;
        "ancestors": an edge is strong at or above this quantile of the postsynaptic unit's positive
        excitatory input weights.
    top_k : int, optional
        Instead of ``quantile``: the ``top_k`` strongest units per layer ("influence") or inputs per
        postsynaptic unit ("ancestors").

    Returns
    -------
    ClassPathways
    """
    ws, ss = _check(weights, signs, spec)
    if method not in ("influence", "ancestors"):
        raise input_error("method", "'influence' or 'ancestors'", repr(method))
    if not 0.0 <= float(quantile) < 1.0:
        raise input_error("quantile", "a float in [0, 1)", quantile)
    if top_k is not None and (isinstance(top_k, bool) or int(top_k) < 1):
        raise input_error("top_k", "None or an int >= 1", repr(top_k))
    if len(ws) < 2:
        raise input_error("weights", "at least two matrices (a hidden layer)", len(ws))
    exc, dale = _exc_rows(ss)
    pops = layer_populations(ws, ss, spec)
    n_out = ws[-1].shape[1]
    hidden = list(range(1, len(ws)))
    E = [np.where(exc[l][:, None], np.maximum(ws[l], 0.0), 0.0) for l in range(len(ws))]
    members, infl = {}, {}
    if method == "influence":
        v = np.eye(n_out)                                   # (n_classes, n_units of layer h+1)
        for h in reversed(hidden):
            v = v @ E[h].T                                  # (n_classes, n_units of layer h)
            scale = v.max(axis=1, keepdims=True)
            v = np.where(scale > 0, v / np.where(scale > 0, scale, 1.0), 0.0)   # per-class scale only
            infl[h] = v
            members[h] = np.stack([_top(v[k], exc[h], quantile, top_k) for k in range(n_out)])
    else:
        strong = []
        for l in range(len(ws)):
            s = np.zeros(ws[l].shape, bool)
            if l == 0:
                strong.append(s)
                continue
            for j in range(ws[l].shape[1]):
                s[:, j] = _top(E[l][:, j], exc[l], quantile, top_k)
            strong.append(s)
        for h in hidden:
            members[h] = np.zeros((n_out, ws[h].shape[0]), bool)
        for k in range(n_out):
            front = np.zeros(n_out, bool)
            front[k] = True
            for h in reversed(hidden):
                front = strong[h][:, front].any(axis=1)     # ancestors one layer down
                members[h][k] = front
    names = tuple(np.array([_node(p, i) for p, i in zip(pops[h][0], pops[h][2])]) for h in hidden)
    par = f"quantile={quantile}" if top_k is None else f"top_k={top_k}"
    return ClassPathways(tuple(hidden), tuple(members[h] for h in hidden),
                         tuple(infl[h] for h in hidden) if infl else None,
                         np.array([int(exc[h].sum()) for h in hidden], np.int64), names, method, par, dale)


def shuffle_weights(weights, signs=None, *, spec=None, seed=0):
    """Weights with entries permuted within the rows of each sign class (see the module docstring)."""
    ws, ss = _check(weights, signs, spec)
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


# ----------------------------------------------------------------------------------------- overlap
@dataclass(frozen=True, eq=False)
class PathwayOverlap:
    """Jaccard overlap of class pathways per hidden layer.

    Attributes
    ----------
    layers : tuple of int
    jaccard : tuple of ndarray (n_classes, n_classes)
        Pairwise Jaccard index per layer (NaN on the diagonal and for two empty sets).
    mean_jaccard, chance_jaccard : ndarray (n_layers,)
        Mean over class pairs; its chance value for random sets of the same sizes.
    mean_size : ndarray (n_layers,)
        Mean pathway size.
    """

    layers: tuple
    jaccard: tuple
    mean_jaccard: np.ndarray
    chance_jaccard: np.ndarray
    mean_size: np.ndarray


def _chance_jaccard(n, s1, s2):
    from scipy.stats import hypergeom

    if s1 == 0 and s2 == 0:
        return np.nan
    x = np.arange(max(0, s1 + s2 - n), min(s1, s2) + 1)
    pmf = hypergeom.pmf(x, n, s1, s2)
    return float(np.sum(pmf * x / (s1 + s2 - x)))


def pathway_overlap(pathways):
    """Pairwise Jaccard overlap of the class pathways in every hidden layer, with chance values."""
    if not isinstance(pathways, ClassPathways):
        raise input_error("pathways", "a ClassPathways (from class_pathways())", type(pathways).__name__)
    jac, mean, chance, size = [], [], [], []
    for m, n in zip(pathways.members, pathways.n_excitatory):
        m = m.astype(float)
        inter = m @ m.T
        s = m.sum(axis=1)
        union = s[:, None] + s[None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            j = np.where(union > 0, inter / union, np.nan)
        np.fill_diagonal(j, np.nan)
        iu = np.triu_indices(m.shape[0], 1)
        jac.append(j)
        mean.append(float(np.nanmean(j[iu])) if np.any(np.isfinite(j[iu])) else np.nan)
        ch = [_chance_jaccard(int(n), int(s[a]), int(s[b])) for a, b in zip(*iu)]
        chance.append(float(np.nanmean(ch)) if np.any(np.isfinite(ch)) else np.nan)
        size.append(float(s.mean()))
    return PathwayOverlap(pathways.layers, tuple(jac), np.array(mean), np.array(chance), np.array(size))


# ----------------------------------------------------------------------------------------- activity
@dataclass(frozen=True, eq=False)
class PathwayActivity:
    """How much more pathway units are active for their own class than for the others, per hidden layer.

    Attributes
    ----------
    layers : tuple of int
    own, other : ndarray (n_layers,)
        Mean over classes ``k`` and units ``u`` in ``P_k`` of ``P(active | k)`` and of the mean
        ``P(active | c)`` over ``c != k``.
    ratio : ndarray (n_layers,)
        ``own / other``.
    n_pairs : ndarray of int64 (n_layers,)
        (class, unit) pairs averaged.
    definition : str
    """

    layers: tuple
    own: np.ndarray
    other: np.ndarray
    ratio: np.ndarray
    n_pairs: np.ndarray
    definition: str


def pathway_activity(pathways, source, *, active="any", labels=None, min_spikes=1):
    """Class-specific activity of the pathway units in a recording of the same network.

    Parameters
    ----------
    pathways : ClassPathways
    source : SpikeRecord or neo.Block
        A recording whose layers have the sizes of the network (units of a layer in table order).
    active, labels, min_spikes
        As in :func:`synsem_ephys.analysis.information.information_gain`; classes are the output
        units' indices, so labels must be 0 .. n_classes - 1.
    """
    from ..analysis._common import as_record, describe_definition, layer_positions
    from ..analysis.information import activity_matrix, class_labels

    if not isinstance(pathways, ClassPathways):
        raise input_error("pathways", "a ClassPathways", type(pathways).__name__)
    record = as_record(source, "source")
    act = activity_matrix(record, active, min_spikes=min_spikes)
    lab, _ = class_labels(record, labels)
    pos = layer_positions(record.units)
    k_n = pathways.n_classes
    own, other, ratio, npairs = [], [], [], []
    for h, m in zip(pathways.layers, pathways.members):
        cols = np.flatnonzero(record.units.layer == h)
        if cols.size != m.shape[1]:
            raise input_error("source", f"{m.shape[1]} units in layer {h} (as the network)", f"{cols.size}",
                              "Analyse a recording of the network the weights come from.")
        cols = cols[np.argsort(pos[cols])]
        p = np.full((k_n, cols.size), np.nan)               # P(active | class c) per unit
        for c in range(k_n):
            sel = lab == c
            if sel.any():
                p[c] = act[np.ix_(sel, cols)].mean(axis=0)
        o, t = [], []
        for k in range(k_n):
            u = np.flatnonzero(m[k])
            if not u.size or not np.isfinite(p[k, 0]):
                continue
            rest = np.delete(p[:, u], k, axis=0)
            o.append(p[k, u])
            t.append(np.nanmean(rest, axis=0))
        o = np.concatenate(o) if o else np.zeros(0)
        t = np.concatenate(t) if t else np.zeros(0)
        mo = float(o.mean()) if o.size else np.nan
        mt = float(t.mean()) if t.size else np.nan
        own.append(mo)
        other.append(mt)
        ratio.append(mo / mt if mt > 0 else np.nan)
        npairs.append(o.size)
    return PathwayActivity(pathways.layers, np.array(own), np.array(other), np.array(ratio),
                           np.array(npairs, np.int64), describe_definition(active))


def pathway_graph(pathways, weights, signs=None, *, spec=None):
    """Subgraph of the pathway units and the outputs, with the excitatory edges between them.

    Node attributes as in :func:`weight_graph` plus ``classes`` (e.g. ``"0;3"``) and ``n_classes``;
    an edge ``u -> v`` (``w > 0``, excitatory ``u``) is kept when ``u`` and ``v`` share a class (an
    output ``k`` belongs to class ``k``) and carries ``weight`` and ``classes``. Ready for
    :func:`write_graphml`.
    """
    import networkx as nx

    ws, ss = _check(weights, signs, spec)
    pops = layer_populations(ws, ss, spec)
    exc, _ = _exc_rows(ss)
    n_out = ws[-1].shape[1]
    cls = {h: m for h, m in zip(pathways.layers, pathways.members)}
    cls[len(ws)] = np.eye(n_out, dtype=bool)
    g = nx.DiGraph()
    for h in sorted(cls):
        pop, ct, idx = pops[h]
        for u in np.flatnonzero(cls[h].any(axis=0)):
            ks = np.flatnonzero(cls[h][:, u])
            g.add_node(_node(pop[u], idx[u]), layer=int(h), population=str(pop[u]), index=int(u),
                       index_in_population=int(idx[u]), cell_type=str(ct[u]),
                       classes=";".join(str(k) for k in ks), n_classes=int(ks.size))
    for h in pathways.layers:
        a, b = cls[h].astype(float), cls[h + 1].astype(float)
        shared = (a.T @ b) > 0                               # (n_pre, n_post) share a class
        ok = shared & (ws[h] > 0) & exc[h][:, None]
        for u, v in zip(*np.nonzero(ok)):
            ks = np.flatnonzero(cls[h][:, u] & cls[h + 1][:, v])
            g.add_edge(_node(pops[h][0][u], pops[h][2][u]), _node(pops[h + 1][0][v], pops[h + 1][2][v]),
                       weight=float(ws[h][u, v]), classes=";".join(str(k) for k in ks))
    return g
