"""Analyses that run on Neo Blocks and SpikeRecords (no torch; Elephant is imported lazily).

Modules
-------
sttc      exact, vectorised all-pairs spike time tiling coefficient
"""

__all__ = []  # import the modules explicitly: `from synsem_ephys.analysis.sttc import sttc_matrix_trials`
