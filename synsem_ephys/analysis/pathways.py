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

__all__ = ["PathwayActivity", "pathway_activity"]


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
