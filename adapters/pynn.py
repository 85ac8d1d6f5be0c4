"""PyNN recordings (``Population.get_data()`` Blocks) into a SpikeRecord, and the population model they share.

PyNN's data model is the simulator-neutral one: a network is populations of cells, a cell is named by
its population and its index in it (``source_population``, ``source_index``; the simulator's global id
is ``channel_id``). The Brian2 and NEST adapters describe their recordings the same way and build their
records through :func:`synsem_ephys.adapters.populations.record_from_populations`.

``get_data()`` returns a ``neo.Block`` with one Segment per run (PyNN's ``run()`` ... ``reset()``
cycle): one Segment = one trial. :func:`from_pynn` reads it through :func:`synsem_ephys.io.from_block`
(trial ``r`` spans its Segment's ``[t_start, t_stop]``, times relative to ``t_start``; Segment
annotations become trial columns) and adds PyNN's conventions: units named
``unit_name(source_population, source_index)``, several Blocks (one per population) side by side, and
the provenance in ``record.meta``.
"""



import numpy as np

from synsem_ephys.errors import DataFormatError, input_error
from synsem_ephys.io import from_block
from synsem_ephys.record import SpikeRecord, UnitTable
from synsem_ephys.spec import unit_name

from .populations import population_meta, module_version, record_from_populations

__all__ = ["from_pynn", "record_from_populations", "module_version"]

#: PyNN's ``simulator`` Block annotation -> the Python module of that backend.
_BACKENDS = {"nest": "nest", "brian2": "brian2", "neuron": "neuron", "mock": "pyNN.mock"}


def from_pynn(block, *, label_annotation=None, simulator_version=None):
    """A PyNN ``get_data()`` Block (or several, one per population) as a SpikeRecord.

    Parameters
    ----------
    block : neo.Block or sequence of neo.Block
        ``Population.get_data()`` (or ``Assembly.get_data()``): one Segment per run = one trial, every
        SpikeTrain annotated with ``source_population`` and ``source_index``. Several Blocks (one per
        population) must hold the same trials; their units are placed side by side in the given order.
    label_annotation : str, optional
        A Segment annotation whose values become the class labels (:func:`synsem_ephys.io.from_block`).
    simulator_version : str, optional
        The backend's version; default the version of the backend module (``nest``, ``brian2``,
        ``neuron``) if this process has imported it (the Block itself does not say), else None.

    Returns
    -------
    SpikeRecord
        Units ``unit_name(source_population, source_index)``, ``channel_id`` = PyNN's global id; trials
        as :func:`~synsem_ephys.io.from_block` makes them (columns ``segment_name``, ``source_start_ms``,
        the Segment annotations, ``duration_ms`` when runs differ in length). ``meta``: ``source``
        "pyNN", ``simulator`` (the Block's annotation), ``simulator_version``, ``pynn_version``, ``dt_ms``,
        ``populations`` (name, size, first unit row, PyNN's ids).

    Raises
    ------
    DataFormatError
        A SpikeTrain without PyNN's annotations, or Blocks whose trials differ.
    """
    import neo

    blocks = [block] if isinstance(block, neo.Block) else list(block) if isinstance(block, (list, tuple)) else None
    if not blocks or not all(isinstance(b, neo.Block) for b in blocks):
        raise input_error("block", "a neo.Block from PyNN's get_data() or a list of them", type(block).__name__)
    parts = []
    for k, blk in enumerate(blocks):
        for r, seg in enumerate(blk.segments):
            for j, st in enumerate(seg.spiketrains):
                missing = [a for a in ("source_population", "source_index") if a not in st.annotations]
                if missing:
                    raise input_error(f"block[{k}].segments[{r}].spiketrains[{j}]",
                                      "PyNN's annotations source_population and source_index",
                                      f"an annotation set without {missing}",
                                      "Use synsem_ephys.io.from_block for Blocks of other tools.", cls=DataFormatError)
        parts.append(from_block(blk, label_annotation=label_annotation))
    rec0 = parts[0]
    for k, rec in enumerate(parts[1:], start=1):
        for col in ("source_start_ms", "duration_ms"):
            a, b = rec0.trials.columns.get(col), rec.trials.columns.get(col)
            if (rec.n_trials != rec0.n_trials or rec.trial_duration_ms != rec0.trial_duration_ms
                    or (a is None) != (b is None) or (a is not None and not np.array_equal(a, b))):
                raise input_error(f"block[{k}]", f"the trials of block[0] ({rec0.n_trials} Segments, same windows)",
                                  f"{rec.n_trials} Segments with other windows", cls=DataFormatError)
    pops, starts = [], []
    offset = 0
    for rec, blk in zip(parts, blocks):
        for p in dict.fromkeys(rec.units.population.tolist()):
            rows = np.flatnonzero(rec.units.population == p)
            pops.append(population_meta(p, rec.units.channel_id[rows].tolist(), offset + int(rows[0])))
        offset += rec.n_units
        starts.append(offset - rec.n_units)
    names = [p["name"] for p in pops]
    if len(set(names)) != len(names):
        raise input_error("block", "each population in one Block only", names, cls=DataFormatError)
    units = [rec.units for rec in parts]
    table = UnitTable(name=[unit_name(p, i) for u in units for p, i in zip(u.population, u.index_in_population)],
                      population=np.concatenate([u.population for u in units]), layer=np.concatenate([u.layer for u in units]),
                      cell_type=np.concatenate([u.cell_type for u in units]),
                      index_in_population=np.concatenate([u.index_in_population for u in units]),
                      channel_id=np.concatenate([u.channel_id for u in units]))
    ann = blocks[0].annotations
    sim = str(ann.get("simulator", "unknown"))
    version = simulator_version if simulator_version is not None else module_version(_BACKENDS.get(sim.lower(), sim.lower()))
    meta = {"source": "pyNN", "simulator": sim, "simulator_version": version, "pynn_version": module_version("pyNN"),
            "dt_ms": float(ann["dt"]) if "dt" in ann else None, "populations": pops,
            "block_names": [str(b.name or "") for b in blocks]}
    return SpikeRecord(np.concatenate([r.times_ms for r in parts]),
                       np.concatenate([r.unit_index + s for r, s in zip(parts, starts)]),
                       np.concatenate([r.trial_index for r in parts]), table, rec0.trials,
                       rec0.trial_duration_ms, meta, rec0.events)
