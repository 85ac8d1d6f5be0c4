"""Every file format and Neo conversion of synsem_ephys, in both directions.

- :func:`to_block` / :func:`from_block`: SpikeRecord <-> ``neo.Block`` (any Block in; the canonical
  layout out, declared once as data in :mod:`synsem_ephys.io.layout`);
- :func:`trial_view`: the lazy per-trial view ``view[i][unit] -> neo.SpikeTrain`` for Elephant;
- :func:`write_nix` / :func:`read_nix` / :func:`read_nix_record`: NIX files (nixio, every annotation kept);
- :func:`write_nwb` / :func:`read_nwb`: NWB files through pynwb (ours and third-party);
- :func:`read_recording`: a NIX or NWB file by its suffix.

Writes are atomic (temporary file, fsync, rename). neo is imported when a function needs it, so
``import synsem_ephys.io`` is fast and never imports torch.

Example
-------
>>> block = to_block(record)                      # doctest: +SKIP
>>> write_nix(block, "run.nix"); back = from_block(read_nix("run.nix"))   # doctest: +SKIP
>>> trials = trial_view(block, trials=[0, 1, 2])  # trials[i][unit] -> neo.SpikeTrain  # doctest: +SKIP
"""

from .block import from_block, to_block
from .files import RECORDING_SUFFIXES, read_recording
from .layout import LAYOUT, assert_block_follows_layout, block_layout_ok, trial_offsets_ms
from .nix import read_nix, read_nix_record, write_nix
from .nwb import read_nwb, write_nwb
from .trials import TrialView, trial_view

__all__ = ["LAYOUT", "to_block", "from_block", "block_layout_ok", "assert_block_follows_layout", "trial_offsets_ms",
           "TrialView", "trial_view", "write_nix", "read_nix", "read_nix_record", "write_nwb", "read_nwb",
           "read_recording", "RECORDING_SUFFIXES"]
