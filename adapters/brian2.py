"""Brian2 ``SpikeMonitor`` recordings into a SpikeRecord.

Brian2's conventions held here: a monitor records one ``NeuronGroup`` (or Subgroup, or
``SpikeGeneratorGroup``); its ``i`` is the neuron's index in that group and ``t_`` the spike time in
seconds on the run's clock, a multiple of the clock's ``dt`` (every spike of a run ``run(T)`` lies in
``[0, T)``). The group's ``name`` is the population (Brian2 names groups ``neurongroup``,
``neurongroup_1``, ... unless ``name=`` is given: give it, so that repeated runs agree).

Trials (see :func:`synsem_ephys.adapters.populations.record_from_populations` for the windows):

- one run: ``trials=None`` is one trial over the whole run; ``trials=[s_0, s_1, ...]`` (ms) cuts the run
  into trials starting there (each ending at the next start, the last at the run's end, unless
  ``trial_duration_ms`` is given);
- repeated runs: a list of monitor lists, one per run (e.g. a fresh network per trial after
  ``start_scope()``): run ``r`` is trial ``r``, from ``trials[r]`` (default 0) on that run's clock.
  ``Network.restore()`` also empties the monitors: with store / restore, read each run's monitors
  before restoring, or cut one long run into trials by their start times instead.

Versions: Brian2 2.9 does not import with numpy >= 2.4 (``ndarray.ptp`` is gone) and Brian2 >= 2.10 needs
Python >= 3.12; the ``[brian2]`` extra takes Brian2 2.9 with numpy < 2.4 on Python 3.11 and Brian2 >= 2.10
otherwise (tested with Brian2 2.9.0 and numpy 2.2.6 / 2.3.5, ``bench/bench_cross_simulator.py``).

Seconds become ms through :func:`synsem_ephys.units.ms_from_s`; the run's end (``clock.t_``) is rounded
to 1e-9 ms so that 0.03 s reads 30 ms, not 30.000000000000004 ms. Every spike is kept.
"""

import numpy as np

from synsem_ephys.errors import input_error
from synsem_ephys.units import ms_from_s

from ._common import import_optional
from .populations import record_from_populations

__all__ = ["from_brian2"]


def _runs(monitors, brian2):
    """``monitors`` as a list of runs, each a list of SpikeMonitors."""
    if isinstance(monitors, brian2.SpikeMonitor):
        return [[monitors]]
    if not isinstance(monitors, (list, tuple)) or not monitors:
        raise input_error("monitors", "a brian2 SpikeMonitor, a list of them (one run) or a list of such lists "
                          "(one per run)", type(monitors).__name__)
    nested = [isinstance(m, (list, tuple)) for m in monitors]
    if all(nested):
        runs = [list(m) for m in monitors]
    elif not any(nested):
        runs = [list(monitors)]
    else:
        raise input_error("monitors", "either SpikeMonitors (one run) or lists of SpikeMonitors (one per run)",
                          "a mixture")
    for r, run in enumerate(runs):
        for k, m in enumerate(run):
            if not isinstance(m, brian2.SpikeMonitor):
                raise input_error(f"monitors[{r}][{k}]" if all(nested) else f"monitors[{k}]", "a brian2 SpikeMonitor",
                                  type(m).__name__)
    return runs


def from_brian2(monitors, *, trials=None, trial_duration_ms=None, labels=None, label_names=None):
    """Spikes of Brian2 SpikeMonitors as a SpikeRecord.

    Parameters
    ----------
    monitors : SpikeMonitor, list of SpikeMonitor, or list of lists of SpikeMonitor
        One monitor per population (its source group; population name = the group's ``name``); a list of
        lists is one list per repeated run, each with the same groups (names and sizes) in the same order.
    trials : sequence of float, optional
        One run: the trial start times (ms) on its clock. Several runs: the start of each run's trial
        (default 0 for every run).
    trial_duration_ms : float, optional
        Length of every trial; default: up to the next start, the last (or every run) to the run's end.
    labels, label_names : optional
        Per-trial class labels (-1 = none) and their names.

    Returns
    -------
    SpikeRecord
        Units in monitor order, ``unit_name(group name, i)``; ``channel_id`` the unit's row. ``meta``:
        ``source`` and ``simulator`` "brian2", ``simulator_version``, ``dt_ms``, ``populations`` (name,
        size, first unit row). Trial columns ``source_start_ms`` (and ``run`` for several runs).

    Raises
    ------
    ValueError
        A non-monitor, two monitors of one group, runs with different groups, or a spike outside every
        trial window.
    """
    brian2 = import_optional("brian2", "reading Brian2 SpikeMonitors")
    runs = _runs(monitors, brian2)
    layout = None
    flat, ends, dts = [], [], set()
    for r, run in enumerate(runs):
        groups = [(str(m.source.name), int(len(m.source))) for m in run]
        if layout is None:
            layout = groups
        elif groups != layout:
            raise input_error(f"monitors[{r}]", f"the groups of run 0, {layout}", groups,
                              "Name the groups (name=...) so that every run builds the same ones.")
        times, rows = [], []
        first = 0
        for m, (_, n) in zip(run, groups):
            t = ms_from_s(np.asarray(m.t_[:], dtype=np.float64))
            i = np.asarray(m.i[:], dtype=np.int64)
            times.append(np.atleast_1d(t))
            rows.append(first + np.atleast_1d(i))
            first += n
            dts.add(round(ms_from_s(float(np.asarray(m.clock.dt_).item())), 12))
        flat.append((np.concatenate(times), np.concatenate(rows)))
        ends.append(max(round(ms_from_s(float(np.asarray(m.clock.t_[:]).item())), 9) for m in run))
    names = [g for g, _ in layout]
    if len(set(names)) != len(names):
        raise input_error("monitors", "one SpikeMonitor per group", f"groups {names}")
    starts = np.cumsum([0] + [n for _, n in layout])
    pops = [(g, range(int(a), int(a) + n)) for (g, n), a in zip(layout, starts)]
    meta = {"source": "brian2", "simulator": "brian2", "simulator_version": str(brian2.__version__),
            "dt_ms": sorted(dts)[0] if len(dts) == 1 else sorted(dts), "n_runs": len(runs)}
    return record_from_populations(pops, flat, trials=trials, trial_duration_ms=trial_duration_ms, run_end_ms=ends,
                                   labels=labels, label_names=label_names, meta=meta)
