"""Lazy per-trial view ``view[i][unit] -> neo.SpikeTrain`` for Elephant functions that want trials.

Only the trials asked for are ever turned into SpikeTrain objects (one object per unit per
trial costs ~0.7 ms and 4 KiB, so 10,000 trials x 1,610 units must never be built at once). Each
SpikeTrain holds trial-relative times in ms on ``[0, trial_duration_ms)``, so all trials share one
``t_start``/``t_stop`` as unitary-event analysis requires. :meth:`TrialView.signal` gives a record signal's
samples of the same trial on the same trial-relative clock (a neo ``AnalogSignal`` or
``IrregularlySampledSignal``), e.g. for ``elephant.sta.spike_triggered_average``.
"""

from collections.abc import Sequence

import numpy as np

from ..errors import input_error
from ..record import SpikeRecord
from ..units import to_quantity_ms
from .layout import unit_annotations

__all__ = ["TrialView", "trial_view"]


class TrialView(Sequence):
    """Sequence of trials; item ``i`` is the list of SpikeTrains (one per unit) of trial ``trials[i]``.

    Built lazily and cached per trial. ``list(view)`` materialises every requested trial.

    Attributes
    ----------
    trials : ndarray of int64
        Source trial index of each item.
    units : ndarray of int64
        Unit rows included, in order.
    """

    def __init__(self, record, trials=None, units=None):
        if not isinstance(record, SpikeRecord):
            raise input_error("record", "a SpikeRecord", type(record).__name__)
        self._record = record
        self.trials = _rows(trials, record.n_trials, "trials")
        self.units = _rows(units, record.n_units, "units")
        sub = record.select(units=self.units, trials=self.trials)  # the one index remapping (SpikeRecord.select)
        t, r, u = sub.times_ms, sub.trial_index, sub.unit_index
        order = np.lexsort((t, u, r))
        self._t, self._r, self._u = t[order], r[order], u[order]
        self._bounds = np.searchsorted(self._r, np.arange(self.trials.size + 1))
        self._cache = {}

    def __len__(self):
        return int(self.trials.size)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"trial view index {i} out of range for {len(self)} trials")
        if i not in self._cache:
            self._cache[i] = self._build(i)
        return self._cache[i]

    def signal(self, i, name):
        """The samples of record signal ``name`` in trial item ``i``, trial-relative (ms), as a neo signal.

        An ``AnalogSignal`` for a regular signal, an ``IrregularlySampledSignal`` otherwise; None when the trial
        has no samples of it.
        """
        from .block import signal_to_neo

        rec = self._record
        if name not in rec.signals:
            raise input_error("name", f"a signal of the record, among {sorted(rec.signals)}", repr(name))
        i = int(i)
        if not -len(self) <= i < len(self):
            raise IndexError(f"trial view index {i} out of range for {len(self)} trials")
        return signal_to_neo(rec.signals[name], name, int(self.trials[i]), 0.0)

    def _build(self, i):
        import neo

        rec = self._record
        a, b = self._bounds[i], self._bounds[i + 1]
        t, u = self._t[a:b], self._u[a:b]
        ub = np.searchsorted(u, np.arange(self.units.size + 1))
        trial = int(self.trials[i])
        t_stop = to_quantity_ms(rec.trial_duration_ms)
        out = []
        for k, row in enumerate(self.units.tolist()):
            out.append(neo.SpikeTrain(to_quantity_ms(t[ub[k]:ub[k + 1]]), t_start=to_quantity_ms(0.0), t_stop=t_stop,
                                      name=str(rec.units.name[row]), trial=trial, **unit_annotations(rec.units, row)))
        return out


def _rows(rows, n, name):
    if rows is None:
        return np.arange(n, dtype=np.int64)
    arr = np.atleast_1d(np.asarray(rows))
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise input_error(name, "a 1-D sequence of int row indices", f"dtype {arr.dtype}, shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise input_error(name, f"indices in [0, {n})", f"range [{arr.min()}, {arr.max()}]")
    if np.unique(arr).size != arr.size:
        raise input_error(name, "distinct indices", arr.tolist()[:10])
    return arr.astype(np.int64)


def trial_view(source, trials=None, units=None):
    """Per-trial view of a SpikeRecord or canonical neo.Block: ``view[i][j]`` is a SpikeTrain.

    Parameters
    ----------
    source : SpikeRecord or neo.Block
        A Block is first read with :func:`synsem_ephys.io.from_block` (flat arrays, no objects).
    trials, units : sequence of int, optional
        Trial rows and unit rows to include (default all); SpikeTrains are built only for these,
        and only when an item is accessed.

    Returns
    -------
    TrialView
    """
    if not isinstance(source, SpikeRecord):
        from .block import from_block

        source = from_block(source)
    return TrialView(source, trials, units)
