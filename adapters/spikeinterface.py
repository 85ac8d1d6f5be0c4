"""SpikeInterface sortings into a SpikeRecord: units, spike trains in samples, segments as trials.

A ``BaseSorting`` (``pip install spikeinterface``: the core package is enough) holds units (ids, str or int),
their spike trains as sample indices per segment, the sampling frequency and unit properties. The times of
the record are ``t_ms = sample * (1000 / sampling_frequency)`` on each segment's sample clock (sample 0 at
0 ms; a registered recording's time vector is not used)::

    segment_trials=True    segment k = trial k, window [0, T_k): T_k = trial_duration_ms, else the segment's
                           length (num_samples / fs) when a recording is registered, else the whole ms after
                           the segment's latest spike; source_start_ms = the segment's start time (t_start)
    segment_trials=False   one segment only; trials as in the text loader
                           (:func:`synsem_ephys.adapters.spiketimes_text.trial_windows`): start times in ms on
                           the sample clock, or one trial spanning the segment

Units keep the sorting's order; name = ``str(unit_id)``; ``channel_id`` = the id when every id is an integer
(or a string of digits), else the position. Unit properties with one scalar value per unit (numbers,
booleans, strings) become unit columns; others (e.g. a 2-D ``location``) are skipped and listed with the
reason in ``meta["skipped_unit_columns"]``. Every spike is kept or accounted for (``outside`` as in the text
loader: an error naming how many, or counted in ``meta["n_spikes_outside_trials"]``).
"""

import re

import numpy as np

from synsem_ephys.errors import input_error
from synsem_ephys.record import SpikeRecord, UnitTable

from ._common import import_optional
from .populations import module_version
from .spiketimes_text import spikes_in_windows, times_to_ms, trial_table, trial_windows

__all__ = ["from_sorting"]

_DIGITS = re.compile(r"[+-]?\d+")


def _properties(sorting, n):
    cols, skipped = {}, {}
    for key in sorting.get_property_keys():
        values = np.asarray(sorting.get_property(key))
        if values.shape != (n,):
            skipped[str(key)] = f"shape {values.shape} (not one scalar per unit)"
        elif values.dtype.kind in "biufUS":
            cols[str(key)] = values.astype(str) if values.dtype.kind == "S" else values
        elif values.dtype.kind == "O" and all(isinstance(v, str) for v in values.tolist()):
            cols[str(key)] = values.astype(str)
        else:
            skipped[str(key)] = f"dtype {values.dtype} (not numbers, booleans or strings)"
    return cols, skipped


def _segment_ms(sorting, ids, seg, fs):
    return [times_to_ms(np.asarray(sorting.get_unit_spike_train(u, segment_index=seg), float), "samples", fs)
            for u in ids]


def from_sorting(sorting, *, segment_trials=True, trials=None, trial_duration_ms=None, trial_labels=None,
                 population_column=None, outside="error"):
    """A SpikeInterface sorting as a SpikeRecord (see the module docstring).

    Parameters
    ----------
    sorting : spikeinterface.core.BaseSorting
        E.g. a ``NumpySorting``, or a sorter's output.
    segment_trials : bool
        Each segment is a trial (True), or the one segment is cut into ``trials`` (False).
    trials : sequence of float, optional
        With ``segment_trials=False``: trial start times in ms on the sample clock (default: one trial
        spanning the segment); refused with ``segment_trials=True``.
    trial_duration_ms : float, optional
        The length of every trial window (default: see the module docstring).
    trial_labels : sequence of str or int, optional
        One class label per trial (``label_names`` = their sorted distinct values).
    population_column : str, optional
        A unit property holding the population of each unit (default: every unit in "unit").
    outside : {"error", "count"}
        A spike outside every trial window: an error naming how many, or left out and counted in meta.

    Returns
    -------
    SpikeRecord
        Trial columns ``segment``, ``source_start_ms``, ``duration_ms`` (when trials differ). ``meta``: the
        sorting's class, SpikeInterface's version, ``sampling_frequency_hz``, ``n_segments``,
        ``n_spikes_outside_trials``, ``skipped_unit_columns``.
    """
    si = import_optional("spikeinterface.core", "the SpikeInterface adapter (adapters.spikeinterface)")
    if not isinstance(sorting, si.BaseSorting):
        raise input_error("sorting", "a spikeinterface BaseSorting (e.g. NumpySorting)", type(sorting).__name__)
    if not isinstance(segment_trials, bool):
        raise input_error("segment_trials", "True or False", repr(segment_trials))
    fs = float(sorting.get_sampling_frequency())
    ids = list(sorting.get_unit_ids())
    n = len(ids)
    n_seg = int(sorting.get_num_segments())
    cols, skipped = _properties(sorting, n)
    population = np.full(n, "unit")
    if population_column is not None:
        if population_column not in cols:
            raise input_error("population_column", f"a unit property among {sorted(cols)}", repr(population_column))
        population = cols.pop(population_column).astype(str)
    numeric = all(isinstance(u, (int, np.integer)) or (isinstance(u, str) and _DIGITS.fullmatch(u)) for u in ids)
    channel = np.array([int(u) for u in ids], np.int64) if numeric else np.arange(n)
    units = UnitTable(name=[str(u) for u in ids], population=population, layer=np.full(n, -1),
                      cell_type=np.full(n, "unknown"), index_in_population=np.arange(n), channel_id=channel,
                      columns=cols)
    t_start_ms = np.array([float(sorting.get_start_time(segment_index=k)) * 1000.0 for k in range(n_seg)])
    known = [sorting.has_recording()] * n_seg
    times, unit_of, trial, n_out = [], [], [], 0
    if segment_trials:
        if trials is not None:
            raise input_error("trials", "None with segment_trials=True (the segments are the trials)", repr(trials)[:100],
                              "Pass segment_trials=False to cut one segment into trials.")
        durations = []
        for k in range(n_seg):
            ms = _segment_ms(sorting, ids, k, fs)
            flat = np.concatenate(ms) if ms else np.zeros(0)
            if trial_duration_ms is not None:
                d = trial_windows(flat, None, trial_duration_ms)[1][0]
            elif known[k]:
                d = times_to_ms(float(sorting.get_num_samples(segment_index=k)), "samples", fs)
            else:
                d = trial_windows(flat, None)[1][0]  # the whole ms after the latest spike (samples are >= 0)
            rel, _, inside = spikes_in_windows(flat, [0.0], [d], outside=outside, where=f"segment {k}")
            times.append(rel)
            unit_of.append(np.repeat(np.arange(n), [t.size for t in ms])[inside])
            trial.append(np.full(rel.size, k))
            n_out += int(flat.size - inside.sum())
            durations.append(float(d))
        durations = np.asarray(durations)
        ttab = trial_table(t_start_ms, durations, trial_labels, columns={"segment": np.arange(n_seg)})
    else:
        if n_seg != 1:
            raise input_error("segment_trials", "True for a sorting of several segments", f"False with {n_seg} segments",
                              "Each segment is then one trial; select one segment to cut it into trials.")
        ms = _segment_ms(sorting, ids, 0, fs)
        flat = np.concatenate(ms) if ms else np.zeros(0)
        dur = trial_duration_ms
        if trials is None and dur is None and known[0]:
            dur = times_to_ms(float(sorting.get_num_samples(segment_index=0)), "samples", fs)
        starts, durations = trial_windows(flat, trials, dur)
        rel, r, inside = spikes_in_windows(flat, starts, durations, outside=outside, where="segment 0")
        times.append(rel)
        unit_of.append(np.repeat(np.arange(n), [t.size for t in ms])[inside])
        trial.append(r)
        n_out = int(flat.size - inside.sum())
        ttab = trial_table(starts + t_start_ms[0], durations, trial_labels, columns={"segment": np.zeros(starts.size, np.int64)})
    meta = {"source": f"spikeinterface.{type(sorting).__name__}", "source_format": "SpikeInterface sorting",
            "spikeinterface_version": module_version("spikeinterface"), "sampling_frequency_hz": fs,
            "n_segments": n_seg, "segment_trials": segment_trials, "n_spikes_outside_trials": n_out,
            "skipped_unit_columns": skipped, "unit_ids": [str(u) for u in ids]}
    return SpikeRecord(np.concatenate(times), np.concatenate(unit_of), np.concatenate(trial), units, ttab,
                       float(np.max(durations)), meta)
