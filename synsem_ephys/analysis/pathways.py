r"""Class-specific activity of a network's pathway units in a recording of that network.

Activity of a pathway unit ``u`` of class ``k`` (pathways from :func:`synsem_ephys.graph.class_pathways`):
``P(active | k)`` against the mean of ``P(active | c)`` over the other classes ``c != k``; "active" as in
:func:`synsem_ephys.analysis.information.information_gain` (which spikes count is named in ``definition``).
"""

from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ..graph.pathways import ClassPathways
from ._common import as_record, describe_definition, layer_positions
from .information import activity_matrix, class_labels

__all__ = ["PathwayActivity", "pathway_activity", "PathwayNull", "pathway_null"]


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
    if not isinstance(pathways, ClassPathways):
        raise input_error("pathways", "a ClassPathways", type(pathways).__name__)
    record = as_record(source, "source")
    probs = _class_probabilities(record, pathways, active, labels, min_spikes)
    return _pathway_ratios(pathways, probs, describe_definition(active))


def _class_probabilities(record, pathways, active, labels, min_spikes):
    """P(active | class c) per unit of each pathway layer, shape (n_classes, units of the layer) each: what
    :func:`pathway_activity` needs of the recording (the same for every set of pathways of the network)."""
    act = activity_matrix(record, active, min_spikes=min_spikes)
    lab, _ = class_labels(record, labels)
    pos = layer_positions(record.units)
    k_n = pathways.n_classes
    probs = []
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
        probs.append(p)
    return probs


def _pathway_ratios(pathways, probs, definition):
    """:class:`PathwayActivity` of ``pathways`` from :func:`_class_probabilities`."""
    own, other, ratio, npairs = [], [], [], []
    for m, p in zip(pathways.members, probs):
        o, t = [], []
        for k in range(pathways.n_classes):
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
                           np.array(npairs, np.int64), definition)


@dataclass(frozen=True, eq=False)
class PathwayNull:
    """Class pathways of the trained weights against a null of Dale-preserving weight shuffles, per hidden layer.

    For each of ``n_shuffles`` shuffles (:func:`synsem_ephys.graph.shuffle_weights` with seed ``seed + k``) the
    pathways are found again with the same method, and their overlap and the selectivity of their units in
    the same recording are measured.

    Attributes
    ----------
    layers : tuple of int
    overlap : ndarray (n_layers,)
        Mean Jaccard overlap of the trained pathways.
    overlap_null : ndarray (n_shuffles, n_layers)
    selectivity : ndarray (n_layers,)
        ``own / other`` activity ratio of the trained pathway units (:class:`PathwayActivity`).
    selectivity_null : ndarray (n_shuffles, n_layers)
    method, definition : str
    n_shuffles, seed : int
    """

    layers: tuple
    overlap: np.ndarray
    overlap_null: np.ndarray
    selectivity: np.ndarray
    selectivity_null: np.ndarray
    method: str
    definition: str
    n_shuffles: int
    seed: int

    @property
    def overlap_null_q05(self):
        """5th percentile of the null's overlap per layer."""
        return np.nanquantile(self.overlap_null, 0.05, axis=0) if self.n_shuffles else np.full(len(self.layers), np.nan)

    @property
    def selectivity_null_q95(self):
        """95th percentile of the null's selectivity per layer."""
        return (np.nanquantile(self.selectivity_null, 0.95, axis=0) if self.n_shuffles
                else np.full(len(self.layers), np.nan))

    def to_dict(self):
        return {"layers": list(self.layers), "overlap": self.overlap, "overlap_null_q05": self.overlap_null_q05,
                "overlap_null_median": np.nanmedian(self.overlap_null, axis=0), "selectivity": self.selectivity,
                "selectivity_null_q95": self.selectivity_null_q95,
                "selectivity_null_median": np.nanmedian(self.selectivity_null, axis=0), "method": self.method,
                "definition": self.definition, "n_shuffles": self.n_shuffles, "seed": self.seed}


def _null_task(task):
    """One shuffle of the pathway null (a task of :func:`pathway_null`; module-level so executors can pickle it)."""
    from ..graph.pathways import class_pathways, pathway_overlap
    from ..graph.weights import shuffle_weights

    weights, signs, probs, kw, seed = task
    sw = shuffle_weights(weights, signs, spec=kw["spec"], seed=seed)
    pk = class_pathways(sw, signs, **kw)
    return pathway_overlap(pk).mean_jaccard, _pathway_ratios(pk, probs, "").ratio


def pathway_null(weights, signs, source, *, spec=None, n_shuffles=20, seed=0, method="influence", quantile=0.9,
                 top_k=None, active="before_decision", labels=None, min_spikes=1, executor=None):
    """Trained class pathways (overlap, selectivity) against ``n_shuffles`` Dale-preserving weight shuffles.

    Parameters
    ----------
    weights, signs, spec
        The network (see :func:`synsem_ephys.graph.class_pathways`).
    source : SpikeRecord or neo.Block
        A recording of that network (its labels are the output classes).
    n_shuffles : int
        Shuffles of the null (>= 1); shuffle ``k`` uses seed ``seed + k``.
    method, quantile, top_k
        Pathway settings, the same for the trained and the shuffled weights.
    active, labels, min_spikes
        Which spikes make a unit active for the selectivity (:func:`pathway_activity`).
    executor : None or an executor (:func:`synsem_ephys.parallel.map_tasks`)
        Runs the shuffles as independent tasks; every shuffle is seeded by its index, so the result equals
        the serial one on any executor.

    Returns
    -------
    PathwayNull
    """
    from ..graph.pathways import class_pathways, pathway_overlap
    from ..parallel import map_tasks

    if isinstance(n_shuffles, bool) or not isinstance(n_shuffles, (int, np.integer)) or n_shuffles < 1:
        raise input_error("n_shuffles", "an int >= 1", repr(n_shuffles))
    record = as_record(source, "source")
    kw = dict(spec=spec, method=method, quantile=quantile, top_k=top_k)
    pw = class_pathways(weights, signs, **kw)
    trained = pathway_overlap(pw).mean_jaccard
    probs = _class_probabilities(record, pw, active, labels, min_spikes)  # the recording's part, once
    sel = _pathway_ratios(pw, probs, "").ratio
    tasks = [(weights, signs, probs, kw, seed + k) for k in range(int(n_shuffles))]
    res = map_tasks(_null_task, tasks, executor=executor)
    o_null, s_null = [r[0] for r in res], [r[1] for r in res]
    return PathwayNull(pw.layers, np.asarray(trained), np.asarray(o_null), np.asarray(sel), np.asarray(s_null), method,
                       describe_definition(active), int(n_shuffles), int(seed))
