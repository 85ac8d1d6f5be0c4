"""The population model shared by the simulator adapters: named populations of cells, runs, trial windows.

A cell is named by its population and its index in it (PyNN's ``source_population``, ``source_index``; the
simulator's global id is ``channel_id``). The Brian2, NEST and PyNN adapters describe their recordings this
way and build their records through :func:`record_from_populations`.

Trial windows of :func:`record_from_populations` (times in ms of the simulator's clock)::

    one run, trials=None           one trial [0, T), T = trial_duration_ms or the run's end
    one run, trials=[s_0, s_1...]  trial k = [s_k, s_k + d_k), d_k = trial_duration_ms or s_{k+1} - s_k
                                   (the last: run end - s_last); spike time in the record = t - s_k
    several runs, trials=None      run r = trial r, window [0, T_r)
    several runs, trials=[s_r]     run r = trial r, window [s_r, s_r + T_r) of that run's clock

Every spike is kept: a spike outside every window is an error naming how many and where, never dropped.
When no run end is known, a window ends at the whole ms after its latest spike.
"""

import math
import sys

import numpy as np

from synsem_ephys.errors import input_error
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable
from synsem_ephys.spec import unit_name

__all__ = ["record_from_populations", "population_meta", "module_version"]


def module_version(name):
    """``__version__`` of module ``name`` if this process has imported it, else None (never imports it)."""
    mod = sys.modules.get(name)
    version = getattr(mod, "__version__", None) if mod is not None else None
    return str(version) if version is not None else None


def _latest_spike_end(times):
    """The whole ms after the latest spike (1 ms when there is none)."""
    return float(math.floor(float(np.max(times))) + 1.0) if len(times) else 1.0


def record_from_populations(populations, runs, *, trials=None, trial_duration_ms=None, run_end_ms=None,
                            labels=None, label_names=None, meta=None):
    """A SpikeRecord from flat spikes of named populations (the shared back end of the simulator adapters).

    Parameters
    ----------
    populations : sequence of (str, sequence of int)
        ``(name, source_ids)`` in unit order: population ``name`` holds ``len(source_ids)`` units, unit ``k``
        named ``unit_name(name, k)`` with ``index_in_population`` ``k`` and ``channel_id`` ``source_ids[k]``
        (the simulator's own id: a NEST node id, a global row for Brian2).
    runs : sequence of (times_ms, unit_row)
        One pair of equal-length arrays per run: spike times in ms on that run's clock and the unit row
        (into the concatenated populations) of each spike.
    trials : sequence of float, optional
        Trial start times in ms (see the module docstring for one run and several runs).
    trial_duration_ms : float, optional
        The length of every trial window; default from the next start or the run's end.
    run_end_ms : sequence of (float or None), optional
        The simulated end time of each run (ms), when the simulator says it.
    labels, label_names : optional
        Per-trial class labels (-1 = none) and their names.
    meta : dict, optional
        Provenance (simulator, its version, ...); ``populations`` is added.

    Returns
    -------
    SpikeRecord
        Trial columns ``source_start_ms`` (the window's start on the simulator's clock), ``run`` (several
        runs) and ``duration_ms`` (when windows differ).

    Raises
    ------
    ValueError
        Bad trial starts or durations, or a spike outside every trial window (nothing is dropped).
    """
    pops = [(str(name), [int(i) for i in ids]) for name, ids in populations]
    if not pops:
        raise input_error("populations", "at least one population", "none")
    names = [p for p, _ in pops]
    if len(set(names)) != len(names):
        raise input_error("populations", "distinct population names", sorted(n for n in names if names.count(n) > 1))
    sizes = [len(ids) for _, ids in pops]
    n_units = sum(sizes)
    first = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    runs = [(np.asarray(t, dtype=np.float64).ravel(), np.asarray(u, dtype=np.int64).ravel()) for t, u in runs]
    if not runs:
        raise input_error("runs", "at least one run", "none")
    ends = list(run_end_ms) if run_end_ms is not None else [None] * len(runs)
    if len(ends) != len(runs):
        raise input_error("run_end_ms", f"one end per run ({len(runs)})", f"{len(ends)} values")
    for r, (t, u) in enumerate(runs):
        if t.shape != u.shape:
            raise input_error(f"runs[{r}]", "times and unit rows of equal length", f"{t.shape} and {u.shape}")
        if t.size and not np.all(np.isfinite(t)):
            raise input_error(f"runs[{r}] times", "finite spike times (ms)", f"{int(np.sum(~np.isfinite(t)))} non-finite")
        if u.size and (u.min() < 0 or u.max() >= n_units):
            raise input_error(f"runs[{r}] unit rows", f"rows in [0, {n_units})", f"range [{u.min()}, {u.max()}]")
    if trial_duration_ms is not None and not (float(trial_duration_ms) > 0 and math.isfinite(float(trial_duration_ms))):
        raise input_error("trial_duration_ms", "a finite float > 0 (ms)", trial_duration_ms)
    if len(runs) == 1:
        times, rows, trial, starts, durations = _one_run(runs[0], trials, trial_duration_ms, ends[0])
        cols = {"source_start_ms": starts}
    else:
        times, rows, trial, starts, durations = _several_runs(runs, trials, trial_duration_ms, ends)
        cols = {"source_start_ms": starts, "run": np.arange(len(runs))}
    longest = float(durations.max())
    if np.any(durations != longest):
        cols["duration_ms"] = durations
    n_trials = len(starts)
    lab = np.full(n_trials, -1) if labels is None else np.asarray(labels)
    if lab.shape != (n_trials,):
        raise input_error("labels", f"one label per trial, shape ({n_trials},)", f"shape {lab.shape}")
    units = UnitTable(name=[unit_name(p, k) for p, ids in pops for k in range(len(ids))],
                      population=[p for p, ids in pops for _ in ids], layer=np.full(n_units, -1),
                      cell_type=np.full(n_units, "unknown"),
                      index_in_population=np.concatenate([np.arange(s) for s in sizes]),
                      channel_id=[i for _, ids in pops for i in ids])
    info = dict(meta or {})
    info["populations"] = [population_meta(p, ids, int(f)) for (p, ids), f in zip(pops, first)]
    return SpikeRecord(times, rows, trial, units, TrialTable(lab, columns=cols, label_names=label_names or ()),
                       longest, info)


def population_meta(name, ids, first_unit):
    """Name, size, first unit row and the source ids (``first_id``/``last_id`` when contiguous, else ``ids``)."""
    out = {"name": name, "size": len(ids), "first_unit": first_unit}
    if ids and ids == list(range(ids[0], ids[0] + len(ids))):
        out.update(first_id=ids[0], last_id=ids[-1])
    else:
        out["ids"] = list(ids)
    return out


def _outside(n, where, fix):
    return input_error("trials", "every spike inside a trial window [start, start + duration)",
                       f"{n} spikes outside ({where})", fix + " Every spike is kept or refused, never dropped.")


def _one_run(run, trials, duration, end):
    t, u = run
    starts = np.zeros(1) if trials is None else np.asarray(trials, dtype=np.float64).ravel()
    if starts.size == 0 or not np.all(np.isfinite(starts)) or np.any(np.diff(starts) <= 0):
        raise input_error("trials", "a non-empty, strictly increasing sequence of finite start times (ms)",
                          np.asarray(trials).tolist() if trials is not None else trials)
    gaps = np.diff(starts)
    if duration is not None:
        durations = np.full(starts.size, float(duration))
        if gaps.size and np.any(durations[:-1] > gaps):
            raise input_error("trial_duration_ms", f"at most the smallest gap between trial starts ({gaps.min()} ms)",
                              duration, "Trial windows must not overlap.")
    else:
        last_end = end if end is not None else (
            _latest_spike_end(t[t >= starts[-1]] - starts[-1]) + starts[-1] if np.any(t >= starts[-1])
            else starts[-1] + (gaps.max() if gaps.size else 1.0))
        durations = np.append(gaps, float(last_end) - starts[-1])
        if durations[-1] <= 0:
            raise input_error("trials", f"starts before the run's end ({end} ms)", f"last start {starts[-1]} ms")
    r = np.searchsorted(starts, t, side="right") - 1
    rel = t - starts[np.maximum(r, 0)]
    bad = (r < 0) | (rel >= durations[np.maximum(r, 0)])
    if np.any(bad):
        raise _outside(int(bad.sum()), f"times {np.sort(t[bad])[:5].tolist()} ms ..., windows start at "
                       f"{starts[:5].tolist()} ms with durations {np.unique(durations)[:5].tolist()} ms",
                       "Pass earlier trial starts or a longer trial_duration_ms.")
    return rel, u, r, starts, durations


def _several_runs(runs, trials, duration, ends):
    starts = np.zeros(len(runs)) if trials is None else np.asarray(trials, dtype=np.float64).ravel()
    if starts.shape != (len(runs),) or not np.all(np.isfinite(starts)):
        raise input_error("trials", f"one finite start time (ms) per run ({len(runs)})",
                          np.asarray(trials).tolist())
    times, rows, trial, durations = [], [], [], []
    for r, ((t, u), s, end) in enumerate(zip(runs, starts, ends)):
        if duration is not None:
            d = float(duration)
        elif end is not None:
            d = float(end) - s
        else:
            d = _latest_spike_end(t[t >= s] - s)
        rel = t - s
        bad = (rel < 0) | (rel >= d)
        if np.any(bad):
            raise _outside(int(bad.sum()), f"run {r}: times {np.sort(t[bad])[:5].tolist()} ms ..., window "
                           f"[{s}, {s + d}) ms", "Pass the run's start in trials or a longer trial_duration_ms.")
        times.append(rel)
        rows.append(u)
        trial.append(np.full(t.size, r))
        durations.append(d)
    return np.concatenate(times), np.concatenate(rows), np.concatenate(trial), starts, np.asarray(durations)


# ------------------------------------------------------------------------------------------ PyNN Blocks
