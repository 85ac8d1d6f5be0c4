"""Adapters: real in-vivo recordings, published networks and other tools' files into a SpikeRecord.

Installed as ``synsem_ephys.adapters`` (the PyPI name ``adapters`` is taken). One module per source; an
adapter holds only that source's conventions (which columns are labels, how trials are laid out, the
time unit of a text file) and builds the :class:`~synsem_ephys.record.SpikeRecord` through
:mod:`synsem_ephys.io` and :mod:`synsem_ephys.record`, which :func:`synsem_ephys.io.to_block` turns into
the same Neo structure as the simulator's output.

The loader protocol: every loader is ``load_*(path, **options) -> SpikeRecord``, listed in :data:`LOADERS`
by name; :func:`load` calls one by name, :func:`get_loader` returns it (imported on first use, so a
missing optional dependency only matters for the loader that needs it).

Loaders
-------
any              NIX, NWB or spike-time text, told apart by content (text needs its time unit)
nwb              NWB files (pynwb): units, trials and their columns, events; label column found automatically
neo              any file neo.io reads (one Segment per trial, or the canonical layout)
spiketimes       any spike-time text files: one unit per file or (time, unit) lines, s/ms/us/samples, trial starts
spiketimes_text  one text file of spike times per (stimulus, unit), trials at fixed offsets
locust           the locust antennal-lobe files of C. Pouzat (spiketimes_text with their conventions)
matlab_trials    MATLAB trial x time-bin spike matrices
kramer_stn       the human STN file of Kramer & Eden (matlab_trials with its conventions)
fastanddeep      the stored spike dumps of a published fast-and-deep run folder (needs torch for its network)

Converters
----------
Other simulators hand over objects, not files: converters ``from_*(objects, **options) -> SpikeRecord``
are listed in :data:`CONVERTERS` (:func:`get_converter` imports one on first use).

brian2           Brian2 SpikeMonitors (one per NeuronGroup; trials from start times or repeated runs)
nest             NEST 3 spike_recorder events or recorders, node ids mapped to populations
pynn             PyNN ``get_data()`` Blocks (one Segment per run = one trial)
spike_tensor     time-stepped spike tensors (time, batch, units), numpy or torch (snnTorch, Norse)
pynapple         a pynapple TsGroup (+ IntervalSet of trials); ``to_pynapple`` goes back
spikeinterface   a SpikeInterface sorting (BaseSorting): units, samples / sampling frequency, segments = trials

``adapters.nir`` converts networks, not recordings: ``to_nir`` / ``from_nir`` between a
:class:`~synsem_ephys.sim.Network` and a NIR graph (needs torch).

Data for the tests is found through the environment variable ``SYNSEM_DATA`` (see :func:`data_dir`).
"""

import importlib

from ._common import DATA_ENV, data_dir, require_path

__all__ = ["DATA_ENV", "data_dir", "require_path", "LOADERS", "get_loader", "load", "CONVERTERS", "get_converter"]

#: name -> "module:function" of every loader (``load_*(path, **options) -> SpikeRecord``).
LOADERS = {
    "any": "any_file:read_any",
    "nwb": "nwb:load_nwb",
    "neo": "neo_generic:load_neo",
    "spiketimes": "spiketimes_text:load_spiketimes",
    "spiketimes_text": "spiketimes_text:load_spiketimes_text",
    "locust": "spiketimes_text:load_locust",
    "matlab_trials": "matlab_trials:load_trial_matrix",
    "kramer_stn": "matlab_trials:load_kramer_stn",
    "fastanddeep": "fastanddeep:load_recording",
}


def _resolve(registry, name, what):
    """The function registered as ``name`` in ``registry`` (imported on first use); ``what`` names the argument."""
    from synsem_ephys.errors import input_error

    if name not in registry:
        raise input_error(what, f"one of {sorted(registry)}", repr(name))
    module, func = registry[name].split(":")
    return getattr(importlib.import_module(f".{module}", __name__), func)


def get_loader(name):
    """The loader function registered as ``name`` in :data:`LOADERS`."""
    return _resolve(LOADERS, name, "loader")


def load(name, path, **options):
    """``get_loader(name)(path, **options)``: a SpikeRecord from ``path`` by the loader ``name``."""
    return get_loader(name)(path, **options)


#: name -> "module:function" of every converter of another simulator's objects (``from_*(objects, **options)
#: -> SpikeRecord``).
CONVERTERS = {
    "brian2": "brian2:from_brian2",
    "nest": "nest:from_nest",
    "pynn": "pynn:from_pynn",
    "spike_tensor": "spike_tensor:from_spike_tensor",
    "pynapple": "pynapple:from_pynapple",
    "spikeinterface": "spikeinterface:from_sorting",
}


def get_converter(name):
    """The converter function registered as ``name`` in :data:`CONVERTERS`."""
    return _resolve(CONVERTERS, name, "converter")
