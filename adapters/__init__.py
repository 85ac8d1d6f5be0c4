"""Adapters: real in-vivo recordings and other tools' files into a :class:`synsem_ephys.record.SpikeRecord`.

Installed as ``synsem_ephys.adapters`` (the PyPI name ``adapters`` is taken). One module per source;
every loader takes a path and returns a SpikeRecord, which :func:`synsem_ephys.io.to_block`
turns into the same Neo structure as the simulator's output.

Modules
-------
nwb              NWB files as published on DANDI (pynwb): units, trials and their columns, events
spiketimes_text  one text file of spike times per (stimulus, unit), trials at fixed offsets (locust AL)
matlab_trials    MATLAB trial x time-bin spike matrices (Kramer & Eden STN data)
neo_generic      any file neo.io reads, or any neo.Block (one Segment per trial)

Data for the tests is found through the environment variable ``SYNSEM_DATA`` (see :func:`data_dir`).
"""

from ._common import DATA_ENV, data_dir, require_path

__all__ = ["DATA_ENV", "data_dir", "require_path"]
