"""Helpers shared by the analyses: accepting a SpikeRecord or a Block, grouping units, activity masks.

Groups: a network's units are grouped by ``layer`` (input, hidden1, ..., output); a recording
without layers (``layer == -1`` everywhere) is grouped by ``population``.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ..record import SpikeRecord

__all__ = ["as_record", "UnitGroups", "unit_groups", "DEFINITIONS", "spike_mask", "describe_definition",
           "layer_positions"]


def as_record(source, name="record"):
    """A :class:`SpikeRecord` from a SpikeRecord or any ``neo.Block`` (read by :func:`synsem_ephys.io.from_block`)."""
    if isinstance(source, SpikeRecord):
        return source
    try:
        import neo
    except ImportError:  # pragma: no cover - neo is a dependency
        neo = None
    if neo is not None and isinstance(source, neo.Block):
        from ..io.block import from_block

        return from_block(source)
    raise input_error(name, "a SpikeRecord or a neo.Block", type(source).__name__,
                      "Read files with synsem_ephys.io or a loader of synsem_ephys.adapters first.")


@dataclass(frozen=True, eq=False)
class UnitGroups:
    """Partition of a record's units into groups (layers or populations).

    Attributes
    ----------
    names : tuple of str
        Group names, in order (by layer, or by first appearance of the population).
    layer : ndarray of int64
        Layer of each group (-1 for populations of a recording without layers).
    of_unit : ndarray of int64
        Group index of each unit, shape (n_units,).
    by : str
        ``"layer"`` or ``"population"``.
    """

    names: tuple
    layer: np.ndarray
    of_unit: np.ndarray
    by: str

    @property
    def n_groups(self):
        return len(self.names)

    def sizes(self):
        """Number of units per group."""
        return np.bincount(self.of_unit, minlength=self.n_groups)


def _layer_name(populations):
    pops = sorted(set(populations.tolist()))
    stems = {p.rsplit("_", 1)[0] if p.endswith(("_E", "_I")) else p for p in pops}
    return stems.pop() if len(stems) == 1 else "+".join(pops)


def unit_groups(record, by="auto"):
    """Group the units of ``record`` by ``"layer"``, ``"population"`` or ``"auto"`` (layer if known)."""
    units = record.units
    if by not in ("auto", "layer", "population"):
        raise input_error("group_by", "'auto', 'layer' or 'population'", repr(by))
    if by == "auto":
        by = "layer" if len(units) and np.all(units.layer >= 0) else "population"
    if by == "layer":
        if len(units) and np.any(units.layer < 0):
            raise input_error("group_by", "units with a layer (>= 0) for group_by='layer'",
                              f"{int(np.sum(units.layer < 0))} units with layer -1", "Use group_by='population'.")
        layers = np.unique(units.layer)
        of_unit = np.searchsorted(layers, units.layer)
        names = tuple(_layer_name(units.population[units.layer == l]) for l in layers)
        return UnitGroups(names, layers.astype(np.int64), of_unit.astype(np.int64), "layer")
    pops, first = np.unique(units.population, return_index=True)
    order = np.argsort(first)
    pops = pops[order]
    lookup = {p: i for i, p in enumerate(pops.tolist())}
    of_unit = np.array([lookup[p] for p in units.population.tolist()], np.int64)
    layer = np.array([int(units.layer[units.population == p].max()) for p in pops.tolist()], np.int64)
    return UnitGroups(tuple(pops.tolist()), layer, of_unit, "population")


#: The named spike selections: which spikes of a trial count.
DEFINITIONS = {
    "any": "any spike of the trial",
    "before_decision": "spike strictly before the decision (t < first output spike)",
    "decision": "spike at or before the decision (t <= first output spike)",
}


def spike_mask(record, definition, name="definition"):
    """Which spikes of ``record`` count, as a boolean array over spikes.

    ``definition`` (see :data:`DEFINITIONS`):

    * ``"any"``: every spike;
    * ``"before_decision"``: spikes strictly before the trial's decision time (the first output spike),
      ``t < t_dec``; the output spike that makes the decision does not count;
    * ``"decision"``: spikes at or before the decision time, ``t <= t_dec`` (the deciding output spike and
      every spike tied with it count);
    * a window ``(start_ms, stop_ms)`` in trial time, ``start_ms <= t < stop_ms``.

    Trials without a decision (no output spike) contribute no spike to the two decision selections. The two
    decision selections differ only by spikes that coincide with the decision time exactly: rare in an exact
    simulation, common in recordings stored on an integrator's time grid.
    """
    if isinstance(definition, str):
        if definition == "any":
            return np.ones(record.n_spikes, bool)
        if definition in ("decision", "before_decision"):
            dec = record.trials.decision_time_ms
            if not np.any(np.isfinite(dec)):
                raise input_error(name, "a window (start_ms, stop_ms) for a record without decision times",
                                  f"{definition!r} but every decision_time_ms is +inf",
                                  "Pass e.g. (0.0, 50.0) or 'any'.")
            d = dec[record.trial_index]
            before = record.times_ms < d if definition == "before_decision" else record.times_ms <= d
            return np.isfinite(d) & before
        raise input_error(name, f"one of {sorted(DEFINITIONS)} or a window (start_ms, stop_ms)", repr(definition))
    try:
        start, stop = (float(v) for v in definition)
    except (TypeError, ValueError):
        raise input_error(name, f"one of {sorted(DEFINITIONS)} or a window (start_ms, stop_ms)",
                          repr(definition)) from None
    if not stop > start:
        raise input_error(name, "a window with stop_ms > start_ms", (start, stop))
    return (record.times_ms >= start) & (record.times_ms < stop)


def describe_definition(definition):
    """Short text for a spike-selection definition (for reports and JSON), see :data:`DEFINITIONS`."""
    if isinstance(definition, str):
        return DEFINITIONS.get(definition, definition)
    start, stop = (float(v) for v in definition)
    return f"spike in [{start:g}, {stop:g}) ms"


def layer_positions(units):
    """Position of each unit inside its layer (units of a layer counted in table order)."""
    pos = np.zeros(len(units), np.int64)
    for l in np.unique(units.layer):
        sel = np.flatnonzero(units.layer == l)
        pos[sel] = np.arange(sel.size)
    return pos
