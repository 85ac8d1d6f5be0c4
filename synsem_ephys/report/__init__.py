"""The analysis report: every analysis on one recording, science checks, a JSON summary, figures, HTML.

- :func:`analyze` -> :class:`AnalysisResult` (no files); :func:`write_report` -> :class:`Report`
  (``report.html``, ``summary.json``, PNG figures, ``pathways.graphml``); :func:`analyze_file` reads a
  NIX or NWB file first (:func:`synsem_ephys.io.read_recording`); :func:`analyze_many` does it for many files
  on any executor and writes a combined table;
- :mod:`~synsem_ephys.report.run` orchestration, :mod:`~synsem_ephys.report.checks` the expectations of
  Kurth, Oberste-Frielinghaus et al. 2025, :mod:`~synsem_ephys.report.summary` the view model,
  :mod:`~synsem_ephys.report.figures` and :mod:`~synsem_ephys.report.html` the rendering.

torch is never imported: pass a network's weights as numpy (``Network.weights_numpy()``).
"""

from .batch import BatchResult, analyze_many
from .checks import ScienceCheck, science_checks
from .run import HTML_NAME, SUMMARY_NAME, AnalysisResult, Report, ReportOptions, analyze, analyze_file, write_report
from .summary import summary_dict

__all__ = ["ReportOptions", "ScienceCheck", "AnalysisResult", "Report", "analyze", "write_report", "analyze_file",
           "analyze_many", "BatchResult",
           "science_checks", "summary_dict", "SUMMARY_NAME", "HTML_NAME"]
