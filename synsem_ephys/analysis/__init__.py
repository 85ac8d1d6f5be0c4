"""Analyses that run on Neo Blocks and SpikeRecords (no torch; Elephant is imported lazily).

Modules
-------
sttc             exact, vectorised all-pairs spike time tiling coefficient
dispersion       spike-time SD / IQR / median per layer and trial (all spikes, decision packet), pulse packets
information      information gain of a unit about the class when active, bias-corrected (shuffle / Miller-Madow)
elephant_checks  Elephant complexity / Synchrotool cross-check of the dispersion measures (lazy Elephant)

The report over all of them is :mod:`synsem_ephys.report`; pathways from weights are in :mod:`synsem_ephys.graph`.
"""

__all__ = []  # import the modules explicitly: `from synsem_ephys.analysis.sttc import sttc_matrix_trials`
