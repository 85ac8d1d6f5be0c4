"""Spike-time text files with a stimulus/trial layout (locust antennal lobe, Pouzat 2001-02-14).

Layout: one file per (stimulus, unit), named ``<experiment>_<stimulus>_tet<T>_u<k>.txt``, one spike time
per line; the trials of a stimulus follow one another at a fixed period (30 s), time 0 being the start
of the first trial's acquisition. Trial ``r`` of a stimulus holds the spikes with
``r * period <= t < (r + 1) * period``; within-trial time is ``t - r * period``.

The time unit: the numbers of the locust files are **sample indices at 15 kHz**, not seconds (values
up to 1.35e7 = 898 s at 15 kHz, i.e. 30 trials x 30 s; read as seconds they would span 156 days, and
every unit's spikes would wrap into ~28.8 s of each 30 s period only as samples). They are printed with
7 significant digits, so beyond 1e6 samples their resolution is one sample (67 us). ``time_unit="auto"``
picks the unit under which every 30 s period ends with a spike-free acquisition gap (samples: all
spikes within the first 28.8 s; as milliseconds the spikes would fill every period to its end).

The number of trials of a stimulus is one more than the last trial holding a spike of any unit
(a trailing trial in which no unit fired cannot be seen in this format; pass ``n_trials`` to override).
No stimulus-onset time is stored in the files, so the record has no ``stimulus_onset_ms`` column.
"""

import re
from pathlib import Path

import numpy as np

from synsem_ephys.errors import DataFormatError, input_error
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable
from synsem_ephys.units import MS_PER_S, ms_from_s

from ._common import require_path

__all__ = ["FILE_PATTERN", "load_spiketimes_text", "load_locust"]

FILE_PATTERN = re.compile(r"^(?P<experiment>[^_]+)_(?P<stimulus>.+)_tet(?P<tetrode>[A-Za-z0-9]+)_u(?P<unit>\d+)\.txt$")
_SCALE_MS = {"ms": 1.0, "s": MS_PER_S}


def _read_times(path):
    text = path.read_text(errors="strict") if path.stat().st_size else ""
    try:
        values = np.array(text.split(), dtype=float)
    except ValueError as exc:
        raise input_error("path", "one number (spike time) per line", f"{path}: {exc}",
                          "Is this a spike-time text file?", cls=DataFormatError) from exc
    if values.size and (not np.all(np.isfinite(values)) or values.min() < 0):
        raise input_error("path", "finite, non-negative spike times", f"{path} with NaN/inf/negative values",
                          cls=DataFormatError)
    return np.sort(values)


def load_spiketimes_text(directory, *, time_unit="auto", sampling_rate_hz=15000.0, trial_period_s=30.0,
                         stimuli=None, units=None, n_trials=None, max_trials=1000):
    """Load every ``<exp>_<stimulus>_tet<T>_u<k>.txt`` file of ``directory`` into one SpikeRecord.

    Parameters
    ----------
    directory : str or Path
    time_unit : {"auto", "samples", "s", "ms"}
        Unit of the numbers in the files; "samples" divides by ``sampling_rate_hz``.
    sampling_rate_hz : float
        Sampling rate for ``time_unit="samples"`` (15 kHz for the locust data).
    trial_period_s : float
        Offset between successive trials (30 s); also the trial duration of the record.
    stimuli, units : list of str / list of int, optional
        Stimulus names and unit numbers to load (default all found).
    n_trials : dict of str -> int, optional
        Trials per stimulus, overriding the count inferred from the spikes.
    max_trials : int
        A larger inferred count means the time unit is wrong: DataFormatError.

    Returns
    -------
    SpikeRecord
        Trials ordered by stimulus (sorted names) then repetition; ``label`` = stimulus index
        (``label_names`` = stimulus names); columns ``stimulus``, ``repetition``, ``source_start_ms``.
        Units ``tet<T>_u<k>`` in numeric order, population ``tet<T>``, cell type "unknown",
        channel_id ``k``. ``meta['time_unit']`` records the unit used.
    """
    directory = require_path(directory, "spike-time text", kind="dir")
    found = {}
    for p in sorted(directory.iterdir()):
        m = FILE_PATTERN.match(p.name)
        if m:
            found[(m["stimulus"], int(m["unit"]))] = (p, m["experiment"], m["tetrode"])
    if not found:
        raise input_error("directory", "files named <experiment>_<stimulus>_tet<T>_u<k>.txt", f"none in {directory}",
                          cls=DataFormatError)
    all_stim = sorted({s for s, _ in found})
    all_units = sorted({u for _, u in found})
    stimuli = all_stim if stimuli is None else list(stimuli)
    units = all_units if units is None else [int(u) for u in units]
    missing = [(s, u) for s in stimuli for u in units if (s, u) not in found]
    if missing:
        raise input_error("directory", "one file per (stimulus, unit)", f"missing {missing[:5]} in {directory}",
                          cls=DataFormatError)
    raw = {(s, u): _read_times(found[(s, u)][0]) for s in stimuli for u in units}
    unit_name = time_unit
    if time_unit == "auto":
        unit_name = _guess_unit(raw, trial_period_s, sampling_rate_hz, max_trials)
    if unit_name == "samples":
        scale_ms = MS_PER_S / float(sampling_rate_hz)
    elif unit_name in _SCALE_MS:
        scale_ms = _SCALE_MS[unit_name]
    else:
        raise input_error("time_unit", "'auto', 'samples', 's' or 'ms'", repr(time_unit))
    period_ms = ms_from_s(float(trial_period_s))
    times, uidx, ridx, t_stim, t_rep, t_start = [], [], [], [], [], []
    for si, s in enumerate(stimuli):
        per = [np.floor(raw[(s, u)] * scale_ms / period_ms).astype(np.int64) for u in units]
        count = max((int(r.max()) + 1 for r in per if r.size), default=0)
        count = int((n_trials or {}).get(s, count))
        if count > max_trials:
            raise input_error("time_unit", f"a unit giving <= {max_trials} trials of {trial_period_s} s",
                              f"{count} trials for stimulus {s!r} with time_unit={unit_name!r}",
                              "The numbers may be sample indices: pass time_unit='samples' and sampling_rate_hz.",
                              cls=DataFormatError)
        base = len(t_stim)
        for ui, u in enumerate(units):
            ms = raw[(s, u)] * scale_ms
            r = per[ui]
            if r.size and r.max() >= count:
                raise input_error("n_trials", f"at least {int(r.max()) + 1} trials for stimulus {s!r}", count)
            times.append(ms - r * period_ms)
            uidx.append(np.full(ms.size, ui))
            ridx.append(base + r)
        t_stim += [s] * count
        t_rep += list(range(count))
        t_start += [r * period_ms for r in range(count)]
    label = np.array([stimuli.index(s) for s in t_stim], np.int64)
    tet = {found[(stimuli[0], u)][2] for u in units}
    exp = found[(stimuli[0], units[0])][1]
    utab = UnitTable(name=[f"tet{found[(stimuli[0], u)][2]}_u{u}" for u in units],
                     population=[f"tet{found[(stimuli[0], u)][2]}" for u in units], layer=np.full(len(units), -1),
                     cell_type=np.full(len(units), "unknown"), index_in_population=np.arange(len(units)),
                     channel_id=np.asarray(units))
    ttab = TrialTable(label, columns={"stimulus": np.array(t_stim, dtype=str), "repetition": np.array(t_rep),
                                      "source_start_ms": np.array(t_start, float)}, label_names=tuple(stimuli))
    times = np.concatenate(times)
    # floor() and the subtraction can leave a spike at exactly period_ms by rounding: keep it in its trial
    times = np.clip(times, 0.0, np.nextafter(period_ms, 0))
    meta = {"source": str(directory), "experiment": exp, "tetrodes": sorted(tet), "time_unit": unit_name,
            "sampling_rate_hz": float(sampling_rate_hz), "trial_period_s": float(trial_period_s)}
    return SpikeRecord(times, np.concatenate(uidx), np.concatenate(ridx), utab, ttab, period_ms, meta)


def _guess_unit(raw, trial_period_s, sampling_rate_hz, max_trials):
    """The unit under which the trials show their acquisition gap.

    Recordings at fixed trial offsets stop acquiring before the next trial starts, so under the right
    unit no spike falls in the last part of any period. Among "s", "ms" and "samples" (giving at most
    ``max_trials`` periods) keep those whose latest within-period time is < 99 % of the period and
    choose the one with the clearest gap.
    """
    values = np.concatenate([v for v in raw.values() if v.size]) if raw else np.zeros(0)
    if not values.size:
        return "s"
    period_ms = ms_from_s(trial_period_s)
    best = None
    for unit, scale in (("s", MS_PER_S), ("ms", 1.0), ("samples", MS_PER_S / sampling_rate_hz)):
        ms = values * scale
        if ms.max() / period_ms > max_trials:
            continue
        phase = float(np.max(np.mod(ms, period_ms))) / period_ms
        if phase < 0.99 and (best is None or phase < best[1]):
            best = (unit, phase)
    if best is None:
        raise input_error("time_unit", "a unit ('s', 'ms', 'samples') under which trials show an acquisition gap",
                          "none for these files", "Pass time_unit explicitly.", cls=DataFormatError)
    return best[0]


def load_locust(directory, **kwargs):
    """The locust antennal-lobe recordings (tetrode B, 10 units x 14 stimuli): samples at 15 kHz, 30 s trials."""
    kwargs.setdefault("time_unit", "samples")
    kwargs.setdefault("sampling_rate_hz", 15000.0)
    kwargs.setdefault("trial_period_s", 30.0)
    return load_spiketimes_text(Path(directory), **kwargs)
