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

Null model: :func:`synsem_ephys.graph.weights.shuffle_weights` (Dale-preserving permutation). A depth
profile of the overlap that the null shows as well comes from the measure, not from learning.

The activity of pathway units in a recording is :func:`synsem_ephys.analysis.pathway_activity`.
"""

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from .weights import _node, check_weights, exc_rows, layer_populations

__all__ = ["ClassPathways", "PathwayOverlap", "class_pathways", "pathway_overlap", "pathway_graph"]


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
    ws, ss = check_weights(weights, signs, spec)
    if method not in ("influence", "ancestors"):
        raise input_error("method", "'influence' or 'ancestors'", repr(method))
    if not 0.0 <= float(quantile) < 1.0:
        raise input_error("quantile", "a float in [0, 1)", quantile)
    if top_k is not None and (isinstance(top_k, bool) or int(top_k) < 1):
        raise input_error("top_k", "None or an int >= 1", repr(top_k))
    if len(ws) < 2:
        raise input_error("weights", "at least two matrices (a hidden layer)", len(ws))
    exc, dale = exc_rows(ss)
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


@functools.lru_cache(maxsize=4096)
def _chance_jaccard(n, s1, s2):
    """Expected Jaccard index of two random subsets of sizes ``s1``, ``s2`` of ``n`` (hypergeometric overlap).

    Cached: quantile pathways give every class the same size, so a report asks for the same few values
    thousands of times (scipy's ``hypergeom.pmf`` costs ~0.5 ms a call).
    """
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


def pathway_graph(pathways, weights, signs=None, *, spec=None):
    """Subgraph of the pathway units and the outputs, with the excitatory edges between them.

    Node attributes as in :func:`weight_graph` plus ``classes`` (e.g. ``"0;3"``) and ``n_classes``;
    an edge ``u -> v`` (``w > 0``, excitatory ``u``) is kept when ``u`` and ``v`` share a class (an
    output ``k`` belongs to class ``k``) and carries ``weight`` and ``classes``. Ready for
    :func:`write_graphml`.
    """
    import networkx as nx

    ws, ss = check_weights(weights, signs, spec)
    pops = layer_populations(ws, ss, spec)
    exc, _ = exc_rows(ss)
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
