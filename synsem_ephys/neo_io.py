"""Recordings as Neo Blocks: SpikeRecord <-> neo.Block, the lazy per-trial view, NIX and NWB files.

This module is the public face of :mod:`synsem_ephys.export`; see :mod:`synsem_ephys.export.block`
for the layout (one Segment, trials end to end with gaps, an Epoch "trials", per-spike ``trial``
array annotation, PyNN-style SpikeTrain annotations, a Group per population, provenance).

Example
-------
>>> block = to_block(record)                      # doctest: +SKIP
>>> write_nix(block, "run.nix"); back = from_block(read_nix("run.nix"))   # doctest: +SKIP
>>> trials = trial_view(block, trials=[0, 1, 2])  # trials[i][unit] -> neo.SpikeTrain  # doctest: +SKIP
"""

from .export.block import LAYOUT, block_layout_ok, from_block, to_block, trial_offsets_ms
from .export.nix import read_nix, read_nix_record, write_nix
from .export.nwb import read_nwb, write_nwb
from .export.trials import TrialView, trial_view

__all__ = ["LAYOUT", "to_block", "from_block", "block_layout_ok", "trial_offsets_ms", "TrialView", "trial_view",
           "write_nix", "read_nix", "read_nix_record", "write_nwb", "read_nwb"]
