"""NEST 3 ``spike_recorder`` events into a SpikeRecord.

NEST's conventions held here: a spike recorder (``record_to="memory"``) holds ``events`` =
``{"senders": node ids, "times": ms}`` (``time_in_steps=False``, NEST's default: float ms, exact for
precise-spiking models too); node ids are global (1, 2, ...) over all of the kernel's nodes; time runs
on over successive ``nest.Simulate`` calls, so trials are cut from one run by their start times.

Populations: ``populations={"exc": exc, "inh": inh}`` (NodeCollections or node-id lists) names the
units, in the given order, ``unit_name(name, k)`` for the ``k``-th node of the population, every node
a unit even when silent. Without it, when recorders are given, the neurons connected to them form one
population per model (``iaf_psc_alpha``, ...), in node-id order; with bare events, one population
"neurons" of the senders seen (silent neurons then cannot be known; ``meta["populations_from"]`` says
which rule was used).

Trial windows are those of :func:`synsem_ephys.adapters.populations.record_from_populations`: one trial over
the run, or ``trials=[s_0, s_1, ...]`` (ms), each trial up to the next start, the last up to the
kernel's ``biological_time`` (when recorders are given) or ``trial_duration_ms``. Every spike is kept:
a sender outside every population or a spike outside every trial is an error.
"""

import numpy as np

from synsem_ephys.errors import input_error

from ._common import import_optional
from .populations import module_version, record_from_populations

__all__ = ["from_nest"]


def _is_events(obj):
    return isinstance(obj, dict) and "senders" in obj and "times" in obj


def _events(recorders_or_events):
    """(list of events dicts, the recorders' NodeCollection or None)."""
    items = recorders_or_events if isinstance(recorders_or_events, (list, tuple)) else [recorders_or_events]
    if not items:
        raise input_error("recorders_or_events", "spike_recorder events or recorders", "an empty list")
    events, recorders = [], []
    for k, item in enumerate(items):
        if _is_events(item):
            events.append(item)
            continue
        if type(item).__name__ != "NodeCollection":
            raise input_error(f"recorders_or_events[{k}]" if len(items) > 1 else "recorders_or_events",
                              "an events dict with 'senders' and 'times', or a NodeCollection of spike_recorders",
                              type(item).__name__)
        import_optional("nest", "reading NEST spike recorders")
        for j, rec in enumerate(item):
            model, to = rec.get("model"), rec.get("record_to")
            if model != "spike_recorder" or to != "memory":
                raise input_error(f"recorders_or_events[{k}][{j}]", "a spike_recorder with record_to='memory'",
                                  f"model {model!r}, record_to {to!r}")
            events.append(rec.get("events"))
            recorders.append(rec)
    return events, recorders


def _times(ev, k):
    t = np.atleast_1d(np.asarray(ev["times"]))
    if t.size and t.dtype.kind not in "f":
        raise input_error(f"events[{k}]['times']", "float times in ms (the recorder's time_in_steps=False)",
                          f"dtype {t.dtype}" + (" with 'offsets' (time_in_steps=True)" if "offsets" in ev else ""),
                          "Record with time_in_steps=False (NEST's default).")
    return t.astype(np.float64)


def _default_populations(recorders, senders):
    if recorders:
        nest = import_optional("nest")
        ids = set(senders.tolist())
        for rec in recorders:
            conns = nest.GetConnections(target=rec)
            if len(conns):
                ids.update(int(i) for i in np.atleast_1d(conns.get("source")))
        ids = sorted(ids)
        models = nest.NodeCollection(ids).get("model") if ids else ()
        models = [models] if isinstance(models, str) else list(models)
        pops = {}
        for i, m in zip(ids, models):
            pops.setdefault(str(m), []).append(i)
        return pops, "recorded models"
    return {"neurons": sorted(set(senders.tolist()))}, "senders"


def from_nest(recorders_or_events, *, populations=None, trials=None, trial_duration_ms=None, labels=None,
              label_names=None):
    """Spikes recorded by NEST 3 spike recorders as a SpikeRecord.

    Parameters
    ----------
    recorders_or_events : NodeCollection, dict, or list of them
        ``spike_recorder`` NodeCollections (``record_to="memory"``) or their ``events`` dicts
        (``{"senders", "times"}``, e.g. ``recorder.get("events")``); several are merged.
    populations : dict of str -> NodeCollection or sequence of int, optional
        Population name -> its node ids, in unit order (see the module docstring for the default).
    trials : sequence of float, optional
        Trial start times in ms on NEST's clock (default one trial from 0).
    trial_duration_ms : float, optional
        Length of every trial; default up to the next start, the last up to the kernel's time (recorders
        given) or to the whole ms after the latest spike (bare events).
    labels, label_names : optional
        Per-trial class labels (-1 = none) and their names.

    Returns
    -------
    SpikeRecord
        ``channel_id`` = the NEST node id; ``meta``: ``source`` "nest", ``simulator`` "NEST",
        ``simulator_version`` (if nest is imported), ``resolution_ms``, ``populations`` (name, size, first
        unit row, node ids), ``populations_from``.

    Raises
    ------
    ValueError
        Events without float times, overlapping populations, a sender in no population, or a spike outside
        every trial window.
    """
    events, recorders = _events(recorders_or_events)
    times = np.concatenate([_times(ev, k) for k, ev in enumerate(events)])
    senders = np.concatenate([np.atleast_1d(np.asarray(ev["senders"], dtype=np.int64)) for ev in events])
    if senders.shape != times.shape:
        raise input_error("events", "'senders' and 'times' of equal length", f"{senders.shape} and {times.shape}")
    if populations is None:
        populations, rule = _default_populations(recorders, senders)
    else:
        if not isinstance(populations, dict) or not populations:
            raise input_error("populations", "a non-empty dict name -> NodeCollection or node ids",
                              type(populations).__name__)
        rule = "given"
    pops = []
    for name, nodes in populations.items():
        ids = nodes.tolist() if hasattr(nodes, "tolist") else list(nodes)
        pops.append((str(name), [int(i) for i in np.atleast_1d(ids)]))
    all_ids = np.array([i for _, ids in pops for i in ids], dtype=np.int64)
    if all_ids.size == 0:
        raise input_error("populations", "at least one node", "only empty populations")
    uniq, counts = np.unique(all_ids, return_counts=True)
    if np.any(counts > 1):
        raise input_error("populations", "disjoint populations (each node in one)", f"nodes in two: {uniq[counts > 1][:5].tolist()}")
    order = np.argsort(all_ids)
    pos = np.minimum(np.searchsorted(all_ids[order], senders), all_ids.size - 1)
    ok = all_ids[order][pos] == senders
    if not np.all(ok):
        raise input_error("events['senders']", "node ids of the given populations",
                          f"{int((~ok).sum())} spikes of other nodes {np.unique(senders[~ok])[:5].tolist()}",
                          "Add their populations; every spike is kept or refused, never dropped.")
    rows = order[pos]
    end = None
    resolution = None
    if recorders:
        nest = import_optional("nest")
        end, resolution = float(nest.biological_time), float(nest.resolution)
    meta = {"source": "nest", "simulator": "NEST", "simulator_version": module_version("nest"),
            "resolution_ms": resolution, "populations_from": rule}
    return record_from_populations(pops, [(times, rows)], trials=trials, trial_duration_ms=trial_duration_ms,
                                   run_end_ms=[end], labels=labels, label_names=label_names, meta=meta)
