"""Analyses that run on Neo Blocks and SpikeRecords of any origin (no torch; Elephant is imported lazily).

Every measure is an array kernel plus a record wrapper; each says which spikes count, which correction
and which null it uses.

Modules
-------
sttc              exact, vectorised all-pairs spike time tiling coefficient
dispersion        spike-time SD / IQR / median per layer and trial (all spikes, decision packet), pulse packets
information       information gain of a unit about the class when active, bias-corrected (shuffle / Miller-Madow)
complexity        Elephant complexity / Synchrotool cross-check of the dispersion measures (lazy Elephant)
units             per-unit table (rate, CV, ISI violations, IG, preferred condition) and PSTH per condition
signals           spikes against a record signal: Elephant's spike-triggered average, occupancy-normalised tuning
                  curves, Skaggs information with a circular-shift null
pathways          class-specific activity of a network's pathway units (pathways: :mod:`synsem_ephys.graph`)
unitary_events    unitary events of all pairs (or chosen groups) over all trials at once, equal to Elephant's
                  jointJ_window_analysis pair by pair (binary bins, Poisson null, no multiple-comparison correction)
ei_structure      spatio-temporal E/I structure of weights with delays (centroid offsets, Moran's I, E vs I delay
                  distributions, arrival order) against delay- and Dale-preserving sign-shuffle nulls

Every public name below can be imported from here (``from synsem_ephys.analysis import information_gain``),
except the function ``dispersion``, whose name is its module's (``from synsem_ephys.analysis.dispersion
import dispersion``);
the modules are imported on first use, so ``import synsem_ephys.analysis`` stays fast. The report over all
of them is :mod:`synsem_ephys.report`.
"""

_LAZY = {
    "as_record": "_common", "UnitGroups": "_common", "unit_groups": "_common", "describe_definition": "_common",
    "DEFINITIONS": "_common", "spike_mask": "_common",
    "STTCResult": "sttc", "sttc_matrix": "sttc", "sttc_matrix_trials": "sttc", "sttc_matrix_spiketrains": "sttc",
    "ConditionSTTC": "sttc", "sttc_by_condition": "sttc",
    "SpikeTimeStats": "dispersion", "Dispersion": "dispersion", "PulsePackets": "dispersion",
    "spike_time_stats": "dispersion", "pulse_packets": "dispersion",
    "synthetic_packets": "dispersion", "SPREADS": "dispersion",
    "InformationGain": "information", "IGGroupSummary": "information", "activity_matrix": "information",
    "class_labels": "information", "information_gain": "information",
    "information_gain_from_activity": "information", "summarize_by_group": "information",
    "CORRECTIONS": "information",
    "ComplexityCheck": "complexity", "complexity_by_group": "complexity",
    "PathwayActivity": "pathways", "pathway_activity": "pathways",
    "PathwayNull": "pathways", "pathway_null": "pathways",
    "EIStructure": "ei_structure", "ArrivalOrder": "ei_structure", "NullTest": "ei_structure",
    "EI_DEFINITIONS": "ei_structure", "EI_NULLS": "ei_structure", "ei_statistics": "ei_structure",
    "arrival_order": "ei_structure", "weight_delay_maps": "ei_structure", "receptive_field_centres": "ei_structure",
    "synapse_types": "ei_structure", "weighted_w1_ks": "ei_structure", "record_delays": "ei_structure",
    "DelayDistributions": "ei_structure", "delay_distributions": "ei_structure", "DELAY_TYPE_NAMES": "ei_structure",
    "UnitStats": "units", "unit_table": "units", "Psth": "units", "psth": "units", "auto_bin_ms": "units",
    "SIGNAL_DEFINITIONS": "signals", "TuningCurves": "signals", "tuning_curves": "signals",
    "SignalInformation": "signals", "signal_information": "signals", "skaggs_information": "signals",
    "SpikeTriggeredAverage": "signals", "spike_triggered_average": "signals",
    "UnitaryEvents": "unitary_events", "unitary_event_analysis": "unitary_events", "UE_METHODS": "unitary_events",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
