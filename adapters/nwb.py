"""NWB files (DANDI and others): the loader on top of :func:`synsem_ephys.io.nwb.read_nwb`.

The generic reading lives in :mod:`synsem_ephys.io.nwb` (built to the NWB standard through pynwb's own API:
Units tables with any columns, trials from any ``TimeIntervals`` table, event-aligned windows around
intervals, ``EventsTable`` rows or ``TimeSeries`` timestamps, events from acquisition and processing
modules). ``neo.io.NWBIO`` fails on such files, hence pynwb.

The convention this adapter adds: the class label and the population are found automatically
(``label_column="auto"``: the first of :data:`LABEL_COLUMNS` in the trials' source table;
``population_column="auto"``: the units column ``cell_type`` if present). The file is opened once.

Example: DANDI:000006 (Economo et al. 2018, mouse ALM) has trials with ``stop_time`` all NaN (each trial
then ends where the next starts), string columns ``type`` (lick left / lick right) and ``response``, and lick
times as ``BehavioralEvents``::

    load_nwb(path)                                            # trials = the trials table, label = "type"
    load_nwb(path, align="lick_left_times", window_ms=(200.0, 300.0))   # one trial per left lick
    load_nwb(path, trials=False)                              # the whole session as one trial
    load_nwb(path, trials=False, signals="all")               # with position, head direction ... as signals
"""

from synsem_ephys.io.nwb import LABEL_COLUMNS, POPULATION_COLUMNS, read_nwb

from ._common import import_optional, require_path

__all__ = ["load_nwb", "LABEL_COLUMNS", "POPULATION_COLUMNS"]


def load_nwb(path, *, label_column="auto", population_column="auto", events=True, trials=None, align=None,
             window_ms=None, units=None, signals=None):
    """Load an NWB file into a SpikeRecord.

    Parameters
    ----------
    path : str or Path
    label_column : str or None or "auto"
        Column of the trials' source table (``"tags"`` for an intervals table's tags, ``"data"`` for the
        values of a TimeSeries given as ``align``) whose categories become class labels; ``"auto"`` takes
        the first of :data:`LABEL_COLUMNS` present, None none.
    population_column : str or None or "auto"
        Units column giving the population (``"electrode_group"``: the group's name); ``"auto"`` uses
        ``cell_type`` if present, else one population "units".
    events : bool or list of str
        Read event series (EventsTables, BehavioralEvents, plain TimeSeries of times in acquisition or
        processing modules) as record events; a list names the ones to read.
    trials : None, False or str
        The TimeIntervals table giving the trials (``"trials"``, ``"epochs"`` or any other name / path).
        None: the trials table if present, else one trial spanning the session (``meta['trials_source']``
        says which); False: one trial spanning the session.
    align : str, optional
        An intervals table (aligned to ``start_time``), EventsTable or TimeSeries (timestamps; ripples,
        stimulus onsets, licks ...): one trial per event, ``window_ms`` around it.
    window_ms : (float, float), optional
        ``(pre, post)`` in ms, both >= 0: the window ``[t - pre, t + post)``; required with ``align``.
        Windows may overlap (a spike then appears in every window holding it).
    units : str, optional
        Name or path of the Units table (default ``nwb.units``).
    signals : None, False, "all" or list of str
        Continuous signals (TimeSeries, SpatialSeries such as position or head direction, LFP) as
        ``record.signals``, cut into the trials: None reads none from a third-party file (as fast as without
        signals) and those written from a file of synsem_ephys; "all" every numeric series that is not an
        event series; a list names them (:mod:`synsem_ephys.io.nwb.signals`).

    Returns
    -------
    SpikeRecord
        Trial columns of the file kept as they are (seconds where the file uses seconds), plus
        ``duration_ms`` and ``source_start_ms`` (``align_ms`` and ``source_row`` for aligned windows);
        unit columns kept (``cell_type`` as ``source_cell_type``); spikes outside every trial counted in
        ``meta['n_spikes_outside_trials']``, skipped columns listed in ``meta['skipped_unit_columns']``.
    """
    import_optional("pynwb", "NWB files")
    path = require_path(path, "NWB")
    return read_nwb(path, label_column=label_column, population_column=population_column, events=events,
                    trials=trials, align=align, window_ms=window_ms, units=units, signals=signals)
