r"""Spike times in text files: a general loader, and the locust antennal-lobe convention on top of it.

General loader (:func:`load_spiketimes`)
----------------------------------------
Any text file of spike times, no file-name pattern required: a path (one file), a directory (every
non-hidden regular file in it, in natural name order: ``u2`` before ``u10``) or a list of files (in the
given order). Two layouts:

* ``"one_unit_per_file"``: one spike time per line; the unit is named by the file stem
  (``cell3.txt`` -> ``cell3``);
* ``"time_unit_columns"``: two fields per line, ``time unit`` (split by ``delimiter``, default white space);
  the unit is the second field: integers are sorted numerically, other names in natural order. From
  several files in this layout a unit is named ``<file stem>:<unit>``.

Everything from ``comment`` (default ``"#"``) to the end of a line is ignored, and so are blank lines; any
other line that is not what the layout says is a DataFormatError naming the file and the line. An empty file
is a silent unit. Times are converted to ms by ``time_unit``::

    "s"        t_ms = t * 1000 (synsem_ephys.units.ms_from_s)
    "ms"       t_ms = t
    "us"       t_ms = t / 1000
    "samples"  t_ms = t * (1000 / sampling_rate_hz)      (sampling_rate_hz required, only then)

Trials (times in ms on the file's clock, after the conversion)::

    trials=None              one trial spanning the recording: [s, s + T) with s = min(0, earliest spike),
                             T = trial_duration_ms, or the whole ms after the latest spike
    trials=[s_0, s_1, ...]   trial k = [s_k, s_k + d_k), d_k = trial_duration_ms, or s_{k+1} - s_k
                             (the last: the whole ms after its latest spike); starts strictly increasing,
                             windows never overlap; spike time in the record = t - s_k

Every spike is kept or accounted for: a spike outside every trial window is an error naming how many
(``outside="error"``, the default), or, with ``outside="count"``, left out and counted in
``meta["n_spikes_outside_trials"]`` (as :func:`synsem_ephys.io.read_nwb` does for spikes between trials). A
spike that the subtraction ``t - s_k`` rounds onto the window's end is kept at the last float before it.

The trial columns are ``source_start_ms`` (the window's start on the file's clock) and, when windows differ,
``duration_ms``; ``trial_labels`` (one per trial) become the class labels (``label_names`` = their sorted
distinct values).

Locust convention (:func:`load_spiketimes_text`, :func:`load_locust`; Pouzat 2001-02-14)
--------------------------------------------------------------------------------------
Layout: one file per (stimulus, unit), named ``<experiment>_<stimulus>_tet<T>_u<k>.txt``, one spike time
per line; the trials of a stimulus follow one another at a fixed period (30 s), time 0 being the start
of the first trial's acquisition. Trial ``r`` of a stimulus holds the spikes with
``r * period <= t < (r + 1) * period``; within-trial time is ``t - r * period``. It reads the files, converts
the time unit and places spikes into trial windows with the general loader's functions
(:func:`read_spike_times`, :func:`times_to_ms`, :func:`spikes_in_windows`); what it adds is the
convention: the file names, the unit guess, the trial count and the stimulus columns.

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

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from synsem_ephys.errors import DataFormatError, input_error
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable
from synsem_ephys.units import MS_PER_S, ms_from_s

from ._common import require_path

__all__ = ["FILE_PATTERN", "TIME_UNITS", "LAYOUTS", "load_spiketimes", "read_spike_times", "read_time_unit_columns",
           "times_to_ms", "trial_windows", "spikes_in_windows", "trial_table", "load_spiketimes_text", "load_locust"]

FILE_PATTERN = re.compile(r"^(?P<experiment>[^_]+)_(?P<stimulus>.+)_tet(?P<tetrode>[A-Za-z0-9]+)_u(?P<unit>\d+)\.txt$")

#: Time units of :func:`load_spiketimes` (``"samples"`` needs ``sampling_rate_hz``).
TIME_UNITS = ("s", "ms", "us", "samples")

#: File layouts of :func:`load_spiketimes`.
LAYOUTS = ("one_unit_per_file", "time_unit_columns")

_OUTSIDE = ("error", "count")
_INT = re.compile(r"[+-]?\d+")


# ------------------------------------------------------------------------------------------ reading
def _natural_key(text):
    """Sort key ordering the digit runs of ``text`` by value (``u2`` before ``u10``)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", str(text)) if p]


def _lines(path, comment):
    """The lines of ``path`` with comments cut off (blank lines kept, so that indices are line numbers - 1)."""
    try:
        text = path.read_text(errors="strict") if path.stat().st_size else ""
    except UnicodeDecodeError as exc:
        raise input_error("paths", "a text file (UTF-8) of spike times", f"{path}: {exc}",
                          "Is this a spike-time text file?", cls=DataFormatError) from exc
    lines = text.splitlines()
    if comment and comment in text:
        lines = [line.split(comment, 1)[0] for line in lines]
    return lines


def _bad_line(lines, check):
    """(line number, text) of the first non-blank line for which ``check`` fails."""
    for k, line in enumerate(lines, start=1):
        if line.strip() and not check(line):
            return k, line.strip()
    return None, None  # pragma: no cover - only called after a failure


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_finite(values, path):
    bad = int(np.sum(~np.isfinite(values)))
    if bad:
        raise input_error("paths", "finite spike times", f"{path}: {bad} NaN/inf values", cls=DataFormatError)
    return values


def read_spike_times(path, *, comment="#"):
    """The spike times of a one-unit file: one number per line, in the file's unit, in file order.

    Parameters
    ----------
    path : str or Path
    comment : str or None
        Everything from it to the end of a line is ignored; blank lines are skipped.

    Returns
    -------
    ndarray of float64
        Empty for an empty file (a silent unit).

    Raises
    ------
    DataFormatError
        A line that is not one number (named with its line number), NaN or infinite values, non-UTF-8 text.
    """
    path = Path(path)
    lines = _lines(path, comment)
    keep = [line for line in lines if line.strip()]
    try:
        values = np.array(keep, dtype=float) if keep else np.zeros(0)
    except ValueError as exc:
        k, line = _bad_line(lines, _is_number)
        raise input_error("path", "one number (spike time) per line", f"{path}:{k}: {line!r}",
                          "Is this a spike-time text file? Lines of (time, unit) need layout='time_unit_columns'; "
                          f"comments start with {comment!r}.", cls=DataFormatError) from exc
    return _check_finite(values, path)


def read_time_unit_columns(path, *, comment="#", delimiter=None):
    """The (time, unit) lines of a file: spike times in the file's unit and the unit of each, as strings.

    Parameters
    ----------
    path : str or Path
    comment : str or None
        Everything from it to the end of a line is ignored; blank lines are skipped.
    delimiter : str or None
        Field separator (None: any white space).

    Returns
    -------
    times : ndarray of float64
    units : ndarray of str
        The second field of each line, stripped of white space.
    """
    path = Path(path)
    lines = _lines(path, comment)
    fields = [[f.strip() for f in line.split(delimiter)] for line in lines if line.strip()]

    def two(line):
        f = [x.strip() for x in line.split(delimiter)]
        return len(f) == 2 and f[1] != "" and _is_number(f[0])

    if any(len(f) != 2 or not f[1] for f in fields):
        k, line = _bad_line(lines, two)
        raise input_error("path", f"two fields per line (time, unit) split by {delimiter!r}", f"{path}:{k}: {line!r}",
                          "A header line? Start it with the comment character. One time per line needs "
                          "layout='one_unit_per_file'.", cls=DataFormatError)
    try:
        times = np.array([f[0] for f in fields], dtype=float) if fields else np.zeros(0)
    except ValueError as exc:
        k, line = _bad_line(lines, two)
        raise input_error("path", "a number (spike time) in the first field of every line", f"{path}:{k}: {line!r}",
                          "A header line? Start it with the comment character.", cls=DataFormatError) from exc
    return _check_finite(times, path), np.array([f[1] for f in fields], dtype=str)


def times_to_ms(values, time_unit, sampling_rate_hz=None):
    """Times in ``time_unit`` (see :data:`TIME_UNITS` and the module docstring) as float ms."""
    values = np.asarray(values, dtype=float)
    if time_unit == "ms":
        return values.copy()
    if time_unit == "s":
        return ms_from_s(values)
    if time_unit == "us":
        return values / 1000.0
    if time_unit == "samples":
        return values * (MS_PER_S / float(sampling_rate_hz))
    raise input_error("time_unit", f"one of {TIME_UNITS}", repr(time_unit))


def _check_time_unit(time_unit, sampling_rate_hz):
    if time_unit not in TIME_UNITS:
        raise input_error("time_unit", f"one of {TIME_UNITS} (the unit of the numbers in the files)", repr(time_unit),
                          "Pass time_unit='s', 'ms', 'us' or 'samples' (with sampling_rate_hz).")
    if time_unit == "samples":
        ok = sampling_rate_hz is not None and not isinstance(sampling_rate_hz, bool)
        try:
            ok = ok and math.isfinite(float(sampling_rate_hz)) and float(sampling_rate_hz) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise input_error("sampling_rate_hz", "a finite float > 0 (Hz) for time_unit='samples'",
                              repr(sampling_rate_hz), "Pass the acquisition's sampling rate, e.g. sampling_rate_hz=30000.")
    elif sampling_rate_hz is not None:
        raise input_error("sampling_rate_hz", "None unless time_unit='samples'",
                          f"{sampling_rate_hz!r} with time_unit={time_unit!r}",
                          "Leave it out, or pass time_unit='samples' if the numbers are sample indices.")


# ------------------------------------------------------------------------------------------ trials
def _latest_end(rel_ms):
    """The whole ms after the latest time (1 ms when there is none)."""
    return float(math.floor(float(np.max(rel_ms))) + 1.0) if len(rel_ms) else 1.0


def _positive_duration(trial_duration_ms, argument="trial_duration_ms"):
    try:
        d = float(trial_duration_ms)
    except (TypeError, ValueError):
        d = float("nan")
    if isinstance(trial_duration_ms, bool) or not (math.isfinite(d) and d > 0):
        raise input_error(argument, "a finite float > 0 (ms)", repr(trial_duration_ms))
    return d


def trial_windows(all_ms, trials=None, trial_duration_ms=None, *, argument="trials"):
    """Trial windows ``(starts_ms, durations_ms)`` on the file's clock (see the module docstring).

    Parameters
    ----------
    all_ms : ndarray
        Every spike time (ms), for the default ends.
    trials : None or sequence of float
        Trial start times in ms, strictly increasing; None: one trial spanning the recording.
    trial_duration_ms : float, optional
        The length of every window; default from the next start or the latest spike.
    argument : str
        The name of ``trials`` in error messages.
    """
    all_ms = np.asarray(all_ms, float)
    dur = None if trial_duration_ms is None else _positive_duration(trial_duration_ms)
    if trials is None:
        start = min(0.0, float(all_ms.min())) if all_ms.size else 0.0
        d = dur if dur is not None else _latest_end(all_ms - start)
        return np.array([start]), np.array([d])
    if isinstance(trials, (str, bytes, Mapping)):
        raise input_error(argument, "a sequence of trial start times in ms", type(trials).__name__)
    try:
        starts = np.asarray(trials, dtype=np.float64)
    except (TypeError, ValueError):
        raise input_error(argument, "a sequence of trial start times in ms (numbers)", repr(trials)[:200]) from None
    if starts.ndim != 1 or starts.size == 0 or not np.all(np.isfinite(starts)) or np.any(np.diff(starts) <= 0):
        raise input_error(argument, "a non-empty, strictly increasing 1-D sequence of finite start times (ms)",
                          repr(np.asarray(trials).tolist())[:200], "Sort the trials by their start time.")
    gaps = np.diff(starts)
    if dur is not None:
        if gaps.size and dur > gaps.min():
            raise input_error("trial_duration_ms", f"at most the smallest gap between trial starts ({gaps.min()} ms)",
                              dur, "Trial windows must not overlap.")
        return starts, np.full(starts.size, dur)
    after = all_ms[all_ms >= starts[-1]]
    if not after.size:
        raise input_error("trial_duration_ms", "a trial length in ms: the last trial's end cannot be inferred",
                          f"None, and no spike after the last start ({starts[-1]} ms)",
                          "Pass trial_duration_ms.")
    return starts, np.append(gaps, _latest_end(after - starts[-1]))


def spikes_in_windows(ms, starts_ms, durations_ms, *, outside="error", where=""):
    """Place spikes into non-overlapping, increasing trial windows ``[start, start + duration)``.

    Parameters
    ----------
    ms : ndarray
        Spike times (ms) on the windows' clock.
    starts_ms, durations_ms : ndarray
        The windows (strictly increasing starts, non-overlapping).
    outside : {"error", "count"}
        A spike in no window: an error naming how many, or left out (the caller counts it).
    where : str
        What the spikes are, for the error message.

    Returns
    -------
    rel_ms : ndarray
        Trial-relative times of the spikes inside a window (one rounding onto the window's end is moved to
        the last float before it).
    trial : ndarray of int64
        Window of each of them.
    inside : ndarray of bool
        Which of ``ms`` are inside a window.
    """
    ms = np.asarray(ms, float)
    starts = np.asarray(starts_ms, float)
    durations = np.asarray(durations_ms, float)
    if outside not in _OUTSIDE:
        raise input_error("outside", f"one of {_OUTSIDE}", repr(outside))
    if not starts.size:
        inside = np.zeros(ms.size, bool)
    else:
        r = np.searchsorted(starts, ms, side="right") - 1
        rc = np.maximum(r, 0)
        inside = (r >= 0) & (ms < starts[rc] + durations[rc])
    n_out = int(ms.size - inside.sum())
    if n_out and outside == "error":
        bad = np.sort(ms[~inside])
        raise input_error("trials", "every spike inside a trial window [start, start + duration)",
                          f"{n_out} of {ms.size} spikes{' of ' + where if where else ''} outside (times "
                          f"{bad[:5].tolist()} ms ...; windows start at {starts[:5].tolist()} ms, durations "
                          f"{np.unique(durations)[:5].tolist()} ms)",
                          "Pass earlier starts or a longer trial_duration_ms, or outside='count' to leave them out "
                          "and count them in meta['n_spikes_outside_trials'].")
    if not starts.size:
        return np.zeros(0), np.zeros(0, np.int64), inside
    r = r[inside]
    rel = np.minimum(ms[inside] - starts[r], np.nextafter(durations[r], 0))
    return rel, r.astype(np.int64), inside


def trial_table(starts, durations, trial_labels=None, *, columns=None, argument="trial_labels"):
    """The TrialTable of windows: ``source_start_ms``, ``duration_ms`` (when they differ), labels from
    ``trial_labels`` (one per trial; classes = sorted distinct values) and extra ``columns``."""
    n = len(starts)
    cols = dict(columns or {})
    cols["source_start_ms"] = np.asarray(starts, float)
    if np.any(durations != np.max(durations)):
        cols["duration_ms"] = np.asarray(durations, float)
    if trial_labels is None:
        return TrialTable(np.full(n, -1), columns=cols)
    values = np.asarray(list(trial_labels) if not isinstance(trial_labels, np.ndarray) else trial_labels)
    if values.shape != (n,) or values.dtype.kind not in "biuUS":
        raise input_error(argument, f"one label (str or int) per trial, {n} values",
                          f"shape {values.shape}, dtype {values.dtype}")
    names, codes = np.unique(values, return_inverse=True)
    return TrialTable(codes.astype(np.int64), columns=cols, label_names=tuple(str(x) for x in names))


# ------------------------------------------------------------------------------------------ the general loader
def _files(paths):
    """(files, source description) from a path, a directory or a list of files."""
    if isinstance(paths, (str, os.PathLike)):
        p = Path(paths)
        if p.is_dir():
            files = sorted((f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")),
                           key=lambda f: _natural_key(f.name))
            if not files:
                raise input_error("paths", "a directory holding spike-time files", f"no files in {p}",
                                  cls=DataFormatError)
            return files, str(p)
        return [require_path(p, "spike-time text")], str(p)
    try:
        items = list(paths)
    except TypeError:
        raise input_error("paths", "a file, a directory or a list of files", type(paths).__name__) from None
    if not items:
        raise input_error("paths", "at least one file", "an empty list")
    files = []
    for k, item in enumerate(items):
        if not isinstance(item, (str, os.PathLike)):
            raise input_error(f"paths[{k}]", "a file path", type(item).__name__)
        if Path(item).is_dir():
            raise input_error(f"paths[{k}]", "a file (a directory is passed alone, not in a list)", str(item))
        files.append(require_path(item, "spike-time text"))
    parent = os.path.commonpath([str(f.parent) for f in files])
    return files, parent


def _rename(default, unit_names):
    if unit_names is None:
        return list(default)
    if isinstance(unit_names, Mapping):
        unknown = sorted(set(unit_names) - set(default))
        if unknown:
            raise input_error("unit_names", f"keys among the units found ({default[:10]} ...)", unknown[:10])
        return [str(unit_names.get(d, d)) for d in default]
    if isinstance(unit_names, str):
        raise input_error("unit_names", "a sequence of names (one per unit) or a mapping", repr(unit_names))
    names = [str(x) for x in unit_names]
    if len(names) != len(default):
        raise input_error("unit_names", f"one name per unit ({len(default)}: {default[:10]} ...)", f"{len(names)} names")
    return names


def load_spiketimes(paths, *, time_unit, sampling_rate_hz=None, comment="#", layout="one_unit_per_file",
                    unit_names=None, trials=None, trial_duration_ms=None, trial_labels=None, population="unit",
                    delimiter=None, outside="error"):
    """Spike-time text files into a SpikeRecord (see the module docstring for layouts, units and trials).

    Parameters
    ----------
    paths : str, Path or sequence of them
        A file, a directory (every non-hidden file, natural name order) or a list of files (in order).
    time_unit : {"s", "ms", "us", "samples"}
        The unit of the numbers in the files (no default: a file does not say).
    sampling_rate_hz : float, optional
        Required for ``time_unit="samples"``, refused otherwise.
    comment : str or None
        Comment marker: the rest of a line from it is ignored.
    layout : {"one_unit_per_file", "time_unit_columns"}
    unit_names : sequence of str or mapping, optional
        New names: one per unit in the loader's order, or a mapping from the default name (file stem, unit
        field) to a new one.
    trials : sequence of float, optional
        Trial start times in ms (on the file's clock, after the unit conversion); default one trial
        spanning the recording.
    trial_duration_ms : float, optional
        The length of every trial window; default from the next start or the latest spike.
    trial_labels : sequence of str or int, optional
        One class label per trial (``label_names`` = their sorted distinct values).
    population : str
        Population name of every unit (the report groups units by it).
    delimiter : str or None
        Field separator of ``"time_unit_columns"`` (None: white space); refused for ``"one_unit_per_file"``.
    outside : {"error", "count"}
        A spike outside every trial window: an error naming how many, or left out and counted in
        ``meta["n_spikes_outside_trials"]``.

    Returns
    -------
    SpikeRecord
        Units in file (or unit-field) order, population ``population``, no layer, cell type "unknown",
        unit column ``file`` (the file each unit came from); ``channel_id`` the unit's number in
        ``"time_unit_columns"`` files with integer units, else its position. Trial columns
        ``source_start_ms`` and (when windows differ) ``duration_ms``. ``meta``: source, layout, time unit,
        sampling rate, files, ``n_spikes_outside_trials``.
    """
    _check_time_unit(time_unit, sampling_rate_hz)
    if layout not in LAYOUTS:
        raise input_error("layout", f"one of {LAYOUTS}", repr(layout))
    if comment is not None and (not isinstance(comment, str) or not comment):
        raise input_error("comment", "a non-empty str or None", repr(comment))
    if delimiter is not None and (not isinstance(delimiter, str) or not delimiter or delimiter == comment):
        raise input_error("delimiter", "a non-empty str other than the comment marker, or None (white space)",
                          repr(delimiter))
    if layout == "one_unit_per_file" and delimiter is not None:
        raise input_error("delimiter", "None for layout='one_unit_per_file' (one number per line)", repr(delimiter),
                          "Pass layout='time_unit_columns' for lines of (time, unit).")
    if outside not in _OUTSIDE:
        raise input_error("outside", f"one of {_OUTSIDE}", repr(outside))
    if not isinstance(population, str) or not population:
        raise input_error("population", "a non-empty str", repr(population))
    files, source = _files(paths)
    if layout == "one_unit_per_file":
        default = [f.stem for f in files]
        per_unit = [times_to_ms(read_spike_times(f, comment=comment), time_unit, sampling_rate_hz) for f in files]
        unit_file = [f.name for f in files]
        channel = np.arange(len(files))
    else:
        per_unit, default, unit_file, channel = [], [], [], []
        for f in files:
            t, lab = read_time_unit_columns(f, comment=comment, delimiter=delimiter)
            uniq = sorted(set(lab.tolist()), key=_natural_key)
            numeric = bool(uniq) and all(_INT.fullmatch(x) for x in uniq)
            if numeric:
                ints = np.array([int(x) for x in lab.tolist()], np.int64)
                keys = sorted(set(ints.tolist()))
                groups = [(str(k), k, ints == k) for k in keys]
            else:
                groups = [(x, None, lab == x) for x in uniq]
            for k, (name, number, sel) in enumerate(groups):
                default.append(name if len(files) == 1 else f"{f.stem}:{name}")
                per_unit.append(times_to_ms(t[sel], time_unit, sampling_rate_hz))
                unit_file.append(f.name)
                channel.append(number if number is not None else len(channel))
        if not default:
            raise input_error("paths", "at least one (time, unit) line", f"none in {source}", cls=DataFormatError)
        channel = np.asarray(channel, np.int64)
    names = _rename(default, unit_names)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:5]
        if unit_names is None:
            raise input_error("paths", "files with distinct stems (each names a unit)", f"the names {dup} repeat",
                              "Pass unit_names, one per unit.")
        raise input_error("unit_names", "distinct names", dup)
    all_ms = np.concatenate(per_unit) if per_unit else np.zeros(0)
    starts, durations = trial_windows(all_ms, trials, trial_duration_ms)
    unit_of = np.repeat(np.arange(len(per_unit)), [len(t) for t in per_unit])
    rel, trial, inside = spikes_in_windows(all_ms, starts, durations, outside=outside, where=source)
    ttab = trial_table(starts, durations, trial_labels)
    n = len(names)
    utab = UnitTable(name=names, population=np.full(n, population), layer=np.full(n, -1),
                     cell_type=np.full(n, "unknown"), index_in_population=np.arange(n), channel_id=channel,
                     columns={"file": np.array(unit_file, dtype=str)})
    meta = {"source": source, "source_format": "spike-time text", "layout": layout, "time_unit": time_unit,
            "files": [str(f) for f in files], "trials_source": "the whole recording" if trials is None else "start times",
            "n_spikes_outside_trials": int(all_ms.size - inside.sum())}
    if time_unit == "samples":
        meta["sampling_rate_hz"] = float(sampling_rate_hz)
    return SpikeRecord(rel, unit_of[inside], trial, utab, ttab, float(durations.max()), meta)


# ------------------------------------------------------------------------------------------ the locust convention
def _read_times(path):
    """A locust file: :func:`read_spike_times`, sorted, with time 0 = the first trial's start (no negatives)."""
    values = read_spike_times(path, comment="#")
    if values.size and values.min() < 0:
        raise input_error("path", "finite, non-negative spike times", f"{path} with negative values",
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
    if unit_name not in ("samples", "s", "ms"):
        raise input_error("time_unit", "'auto', 'samples', 's' or 'ms'", repr(time_unit))
    period_ms = ms_from_s(float(trial_period_s))
    times, uidx, ridx, t_stim, t_rep, t_start = [], [], [], [], [], []
    for s in stimuli:
        ms_of = [times_to_ms(raw[(s, u)], unit_name, sampling_rate_hz) for u in units]
        per = [np.floor(ms / period_ms).astype(np.int64) for ms in ms_of]
        count = max((int(r.max()) + 1 for r in per if r.size), default=0)
        count = int((n_trials or {}).get(s, count))
        if count > max_trials:
            raise input_error("time_unit", f"a unit giving <= {max_trials} trials of {trial_period_s} s",
                              f"{count} trials for stimulus {s!r} with time_unit={unit_name!r}",
                              "The numbers may be sample indices: pass time_unit='samples' and sampling_rate_hz.",
                              cls=DataFormatError)
        starts = np.arange(count) * period_ms
        base = len(t_stim)
        for ui, u in enumerate(units):
            if per[ui].size and per[ui].max() >= count:
                raise input_error("n_trials", f"at least {int(per[ui].max()) + 1} trials for stimulus {s!r}", count)
            rel, r, _ = spikes_in_windows(ms_of[ui], starts, np.full(count, period_ms), where=f"{s!r} unit {u}")
            times.append(rel)
            uidx.append(np.full(rel.size, ui))
            ridx.append(base + r)
        t_stim += [s] * count
        t_rep += list(range(count))
        t_start += starts.tolist()
    label = np.array([stimuli.index(s) for s in t_stim], np.int64)
    tet = {found[(stimuli[0], u)][2] for u in units}
    exp = found[(stimuli[0], units[0])][1]
    utab = UnitTable(name=[f"tet{found[(stimuli[0], u)][2]}_u{u}" for u in units],
                     population=[f"tet{found[(stimuli[0], u)][2]}" for u in units], layer=np.full(len(units), -1),
                     cell_type=np.full(len(units), "unknown"), index_in_population=np.arange(len(units)),
                     channel_id=np.asarray(units))
    ttab = TrialTable(label, columns={"stimulus": np.array(t_stim, dtype=str), "repetition": np.array(t_rep),
                                      "source_start_ms": np.array(t_start, float)}, label_names=tuple(stimuli))
    meta = {"source": str(directory), "experiment": exp, "tetrodes": sorted(tet), "time_unit": unit_name,
            "sampling_rate_hz": float(sampling_rate_hz), "trial_period_s": float(trial_period_s)}
    return SpikeRecord(np.concatenate(times), np.concatenate(uidx), np.concatenate(ridx), utab, ttab, period_ms, meta)


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
