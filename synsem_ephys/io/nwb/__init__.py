"""NWB files through pynwb directly (neo's NWBIO drops annotations and fails on third-party files).

Reading any NWB file (:func:`read_nwb`)
---------------------------------------
Spikes come from a ``Units`` table (``nwb.units``, or any Units table by ``units=``). Trials are windows
``[start_r, stop_r)`` on the file's clock, from one of:

- a ``TimeIntervals`` table (``trials=None`` takes ``nwb.trials`` when present; ``"trials"``, ``"epochs"``
  or any other name / path of a TimeIntervals table); a missing ``stop_time`` (NaN) ends where the next
  interval (by start time) starts, the last then lasts as long as the longest other;
- event-aligned windows ``[t_e - pre, t_e + post)`` (``align=NAME, window_ms=(pre, post)``) around the
  start times of a TimeIntervals table, the ``timestamp`` of an ``EventsTable`` or the timestamps of any
  ``TimeSeries`` (ripples, stimulus onsets, licks, in acquisition or processing modules);
- nothing (no trials table, or ``trials=False``): one trial spanning the session, from
  ``min(0, earliest time in the file)`` to the end of the last spike, interval or time series.

Spike ``s`` (time ``t_s`` seconds) belongs to every window with ``start_r <= 1000 t_s < stop_r`` (ms);
its trial-relative time is ``1000 t_s - start_r`` ms. Windows may overlap: a spike inside two windows
appears in both trials. Nothing is dropped silently: ``meta['n_spikes_outside_trials']`` counts spikes
in no window, ``meta['n_spikes_in_several_trials']`` those in more than one, and
``meta['n_events_outside_trials']`` the events in no window. Scalar Units / trials columns become
unit / trial columns (``electrode_group`` as its name); ragged, reference and multi-dimensional columns
are skipped and listed with the reason in ``meta['skipped_unit_columns']`` / ``['skipped_trial_columns']``.
The file's metadata (identifier, session start, subject, ...: :data:`FILE_FIELDS`) and the descriptions of
its tables and columns are kept in ``meta``, so that :func:`write_nwb` can write them back.

Writing (:func:`write_nwb`)
---------------------------
The Units table holds each unit's spike times in seconds on the recording's own clock when it has one
(trial ``r`` starts at the trial column ``source_start_ms``) or with trials end to end (``offset_r =
r * (trial_duration_ms + gap_ms)``); columns name (as ``unit_name``), population, layer, cell_type,
index_in_population, channel_id and the extra unit columns. The record's trials become a TimeIntervals table
(``trials``, or the table they were read from) with the trial fields and columns; events become
``EventsTable`` s in ``/events``; provenance is JSON in ``notes``. A second-by-second clock cannot
reproduce trial-relative milliseconds exactly (``(offset + t) / 1000 * 1000 - offset`` moves a spike by
~1e-13 ms), so the record's own numbers are stored too, as the ragged Units columns
:data:`EXACT_TRIAL` and :data:`EXACT_TIME` (and the same two columns in each EventsTable):
:func:`read_nwb` prefers them for files of this package, which therefore round-trip bit-exactly.
Writes are atomic.

Modules: :mod:`.read`, :mod:`.windows` (the trials), :mod:`.write`, :mod:`._common` (conventions, finding
objects in a file).
"""

from ._common import EXACT_TIME, EXACT_TRIAL, FILE_FIELDS, LABEL_COLUMNS, NWB_LAYOUT, POPULATION_COLUMNS
from .read import read_nwb
from .write import write_nwb

__all__ = ["write_nwb", "read_nwb", "LABEL_COLUMNS", "POPULATION_COLUMNS", "FILE_FIELDS", "NWB_LAYOUT",
           "EXACT_TRIAL", "EXACT_TIME"]
