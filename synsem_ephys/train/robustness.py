r"""Robustness of a trained network to perturbed input spike trains: accuracy vs perturbation strength.

For each kind (``jitter``: SD in units of tau_syn; ``deletion`` / ``insertion``: probabilities; see
:mod:`synsem_ephys.perturb`) and strength ``s``, the inputs are perturbed ``n_draws`` times and the
accuracy (earliest output spike = label; no output spike counts as wrong) is measured on each draw::

    acc_k(s)  = accuracy(network(perturb(inputs, kind, s, rng_{kind, s, k})))        k = 1..n_draws
    mean(s)   = (1/n) sum_k acc_k(s);   95 % CI = mean -/+ t_{0.975, n-1} SD_k / sqrt(n)

The CI is over the noise draws of this one network (not over training seeds). Draw ``k`` of (kind,
strength) uses ``numpy.random.SeedSequence(seed, spawn_key=(kind index, bits of the float strength, k))``:
a cell's noise does not depend on the other cells of the grid, so grids can be extended. A strength of 0 is
the clean accuracy (evaluated once: every draw is the same).

Summaries of a curve: the normalised area under it (trapezoid over the strengths, divided by the
strength range: the mean accuracy over the range), and the strength at which the accuracy has fallen half
way from the clean accuracy to chance (linear interpolation; None if it does not fall that far).
"""

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .._files import json_dumps, write_text_atomic
from ..decision import predict
from ..encoding import DEFAULT_T_LATE
from ..errors import DataFormatError, input_error
from ..optional import require
from ..perturb import KINDS, perturb

__all__ = ["RobustnessRow", "RobustnessTable", "evaluate", "write_json", "read_json", "plot", "evaluate_file"]


@dataclass(frozen=True)
class RobustnessRow:
    """Accuracy of one (kind, strength) cell over its noise draws.

    Attributes
    ----------
    kind : str
    strength : float
    accuracies : tuple of float
        One per draw.
    accuracy_mean, accuracy_sd : float
        Mean and SD (ddof 1; NaN for one draw) over the draws.
    ci95_low, ci95_high : float
        Student-t 95 % interval of the mean over the draws (NaN for one draw).
    """

    kind: str
    strength: float
    accuracies: tuple
    accuracy_mean: float
    accuracy_sd: float
    ci95_low: float
    ci95_high: float


@dataclass(frozen=True)
class RobustnessTable:
    """Result of :func:`evaluate`: one :class:`RobustnessRow` per (kind, strength), in grid order.

    Attributes
    ----------
    rows : tuple of RobustnessRow
    n_samples, n_draws, seed : int
    tau_syn_ms, t_late : float
        The units of the jitter SD and the insertion window.
    clean_accuracy : float
        On the unperturbed inputs.
    n_classes : int
        Outputs of the network (chance = 1 / n_classes).
    """

    rows: tuple
    n_samples: int
    n_draws: int
    seed: int
    tau_syn_ms: float
    t_late: float
    clean_accuracy: float
    n_classes: int

    @property
    def kinds(self):
        """The kinds in the table, in order."""
        return tuple(dict.fromkeys(r.kind for r in self.rows))

    def curve(self, kind):
        """``(strengths, means, ci_low, ci_high)`` arrays of one kind."""
        rows = [r for r in self.rows if r.kind == kind]
        if not rows:
            raise input_error("kind", f"one of {list(self.kinds)}", repr(kind))
        return tuple(np.array([getattr(r, f) for r in rows], dtype=np.float64)
                     for f in ("strength", "accuracy_mean", "ci95_low", "ci95_high"))

    def normalised_auc(self, kind):
        """Trapezoidal area under the mean accuracy curve over the strength range, divided by the range."""
        s, m, _, _ = self.curve(kind)
        if s.size < 2 or s[-1] == s[0]:
            return float(m[0])
        return float(np.trapezoid(m, s) / (s[-1] - s[0]))

    def half_drop_strength(self, kind, chance=None):
        """Strength where the mean accuracy first reaches (clean + chance) / 2 (linear interpolation), or None."""
        chance = 1.0 / self.n_classes if chance is None else float(chance)
        s, m, _, _ = self.curve(kind)
        level = 0.5 * (self.clean_accuracy + chance)
        for i in range(1, s.size):
            if m[i] <= level < m[i - 1]:
                return float(s[i - 1] + (m[i - 1] - level) / (m[i - 1] - m[i]) * (s[i] - s[i - 1]))
        return None

    def to_dict(self):
        """JSON-able dict (rows as dicts), with the AUC and half-drop strength per kind under ``"summary"``."""
        d = asdict(self)
        d["rows"] = [asdict(r) for r in self.rows]
        d["summary"] = {k: {"normalised_auc": self.normalised_auc(k), "half_drop_strength": self.half_drop_strength(k)}
                        for k in self.kinds}
        return d

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict` (the summary is recomputed)."""
        try:
            rows = tuple(RobustnessRow(**dict(r, accuracies=tuple(r["accuracies"]))) for r in d["rows"])
            return cls(rows=rows, **{k: d[k] for k in ("n_samples", "n_draws", "seed", "tau_syn_ms", "t_late",
                                                       "clean_accuracy", "n_classes")})
        except (KeyError, TypeError) as exc:
            raise DataFormatError(f"robustness table: expected the fields of RobustnessTable.to_dict(); got {exc!r}.") from exc


def _grid(name, values, kind):
    if values is None:
        return ()
    vals = tuple(values) if isinstance(values, (list, tuple, np.ndarray)) else None
    ok = vals is not None and all(isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
                                  and math.isfinite(float(v)) and float(v) >= 0 for v in vals)
    if ok and kind != "jitter":
        ok = all(float(v) <= 1 for v in vals)
    if not ok:
        what = "SDs >= 0 in units of tau_syn" if kind == "jitter" else "probabilities in [0, 1]"
        raise input_error(name, f"a list of {what}", repr(values))
    return tuple(float(v) for v in vals)


def _draw_seed(seed, kind, strength, draw):
    bits = int(np.float64(strength).view(np.uint64))
    return np.random.SeedSequence(int(seed), spawn_key=(list(KINDS).index(kind), bits, int(draw)))


@torch.no_grad()
def _accuracy(network, t, labels, batch_size):
    W0 = network.weights[0]
    t = torch.as_tensor(t, dtype=W0.dtype, device=W0.device)
    pred = np.concatenate([predict(network(t[i:i + batch_size])[-1]).cpu().numpy()
                           for i in range(0, t.shape[0], batch_size)])
    return float(np.mean(pred == labels))


def _row(kind, strength, accs):
    a = np.asarray(accs, dtype=np.float64)
    n = a.size
    mean = float(a.mean())
    if n < 2:
        return RobustnessRow(kind, strength, tuple(a.tolist()), mean, math.nan, math.nan, math.nan)
    from scipy import stats

    sd = float(a.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return RobustnessRow(kind, strength, tuple(a.tolist()), mean, sd, mean - half, mean + half)


def evaluate(network, inputs_ms, labels, *, jitter=(), deletion=(), insertion=(), n_draws=10, seed=0,
             tau_syn_ms=None, t_late=None, batch_size=1000):
    """Accuracy of ``network`` on perturbed inputs over the grids (see the module docstring).

    Parameters
    ----------
    network : synsem_ephys.sim.Network
    inputs_ms : numpy.ndarray or torch.Tensor, shape (n_samples, n_inputs)
        Clean input spike times (ms), e.g. the latency-coded test set.
    labels : array_like of int, shape (n_samples,)
    jitter : sequence of float
        Jitter SDs in units of ``tau_syn_ms``.
    deletion, insertion : sequence of float
        Probabilities.
    n_draws : int
        Noise draws per (kind, strength).
    seed : int
        Root of every draw's seed.
    tau_syn_ms : float, optional
        Unit of the jitter SD and of ``t_late``; None = the network's ``spec.tau_syn_ms``.
    t_late : float, optional
        Insertion window ``[0, t_late tau_syn]``; None = the network's training config's ``t_late``
        (``network.extra["config"]``) if it has one, else the latency code's default 2.0.
    batch_size : int
        Samples per forward pass (memory only).

    Returns
    -------
    RobustnessTable
    """
    t_in = np.asarray(inputs_ms.detach().cpu().numpy() if isinstance(inputs_ms, torch.Tensor) else inputs_ms,
                      dtype=np.float64)
    y = np.asarray(labels.cpu().numpy() if isinstance(labels, torch.Tensor) else labels)
    if t_in.ndim != 2 or t_in.shape[1] != network.spec.n_inputs:
        raise input_error("inputs_ms", f"an array (n_samples, {network.spec.n_inputs})", t_in.shape)
    if y.shape != (t_in.shape[0],):
        raise input_error("labels", f"shape ({t_in.shape[0]},), one label per sample", y.shape)
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise input_error("n_draws", "a positive int", repr(n_draws))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise input_error("seed", "a non-negative int", repr(seed))
    tau = float(network.spec.tau_syn_ms if tau_syn_ms is None else tau_syn_ms)
    if t_late is None:
        t_late = float((getattr(network, "extra", None) or {}).get("config", {}).get("t_late", DEFAULT_T_LATE))
    grids = {"jitter": _grid("jitter", jitter, "jitter"), "deletion": _grid("deletion", deletion, "deletion"),
             "insertion": _grid("insertion", insertion, "insertion")}
    clean = _accuracy(network, t_in, y, batch_size)
    rows = []
    for kind, strengths in grids.items():
        for s in strengths:
            if s == 0:
                rows.append(_row(kind, s, [clean] * n_draws))
                continue
            accs = [_accuracy(network, perturb(t_in, kind, s, tau_syn_ms=tau, t_late=t_late,
                                               rng=np.random.default_rng(_draw_seed(seed, kind, s, k))), y, batch_size)
                    for k in range(n_draws)]
            rows.append(_row(kind, s, accs))
    return RobustnessTable(tuple(rows), int(t_in.shape[0]), int(n_draws), int(seed), tau, float(t_late), clean,
                           int(network.spec.n_outputs))


def write_json(table, path, extra=None):
    """Write ``table.to_dict()`` (plus ``extra`` under ``"extra"``) atomically as JSON; return the path."""
    d = table.to_dict()
    if extra is not None:
        d["extra"] = extra
    write_text_atomic(path, json_dumps(d, indent=1))
    return Path(path)


def read_json(path):
    """The :class:`RobustnessTable` of a file written by :func:`write_json`."""
    return RobustnessTable.from_dict(json.loads(Path(path).read_text()))


def plot(tables, path=None, *, chance=True):
    """Accuracy vs strength, one panel per kind, one line (mean, 95 % CI band) per table.

    Parameters
    ----------
    tables : RobustnessTable or mapping of label -> RobustnessTable
    path : str or path-like, optional
        Write a PNG there.
    chance : bool
        Draw the chance level (1 / n_classes).

    Returns
    -------
    matplotlib.figure.Figure
    """
    require("matplotlib", "the robustness figure")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if isinstance(tables, RobustnessTable):
        tables = {"": tables}
    kinds = tuple(dict.fromkeys(k for t in tables.values() for k in t.kinds))
    fig = Figure(figsize=(4.0 * max(1, len(kinds)), 3.4), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, max(1, len(kinds)), squeeze=False)[0]
    xlabels = {"jitter": "jitter SD (tau_syn)", "deletion": "deletion probability", "insertion": "insertion probability"}
    for ax, kind in zip(axes, kinds):
        for label, t in tables.items():
            if kind not in t.kinds:
                continue
            s, m, lo, hi = t.curve(kind)
            line, = ax.plot(s, m, marker="o", ms=3, label=label or None)
            if np.isfinite(lo).any():
                ax.fill_between(s, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        if chance:
            n = next(iter(tables.values())).n_classes
            ax.axhline(1.0 / n, color="grey", ls=":", lw=1)
        ax.set_xlabel(xlabels.get(kind, kind))
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.02)
        if any(tables):
            ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(str(path), dpi=100, bbox_inches="tight")
    return fig


def evaluate_file(network_path, out_dir, *, jitter=(), deletion=(), insertion=(), n_draws=10, seed=0,
                  split="test", data_dir=None, figure=True):
    """Robustness of a trained network file on its dataset's split; writes ``robustness.json`` (and ``.png``).

    The dataset, its size and seed and the latency code come from the training config stored in the
    network file (``network.extra["config"]``, as the trainer writes it). This is what the command
    ``synsem-ephys robustness NETWORK --jitter ... --deletion ... --insertion ... --out DIR`` runs.

    Returns
    -------
    RobustnessTable
    """
    from ..encoding import LatencyCode
    from ..sim import Network
    from .config import TrainConfig
    from .data import load_dataset

    if split not in ("train", "test"):
        raise input_error("split", "'train' or 'test'", repr(split))
    net = Network.load(network_path)
    cfg_d = (net.extra or {}).get("config")
    if not cfg_d:
        raise DataFormatError(f"{network_path}: expected a network file written by the trainer (with its training "
                              "config); got one without. Use synsem_ephys.train.robustness.evaluate with inputs.")
    cfg = TrainConfig.from_dict(cfg_d)
    n = cfg.test_size if split == "test" else cfg.train_size
    data = load_dataset(cfg.dataset, split, data_dir=data_dir if data_dir is not None else cfg.data_dir,
                        seed=cfg.data_seed, n_samples=n)
    t = LatencyCode.from_config(cfg).encode(data.x)
    table = evaluate(net, t, data.y, jitter=jitter, deletion=deletion, insertion=insertion, n_draws=n_draws,
                     seed=seed, tau_syn_ms=cfg.tau_syn_ms, t_late=cfg.t_late)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(table, out / "robustness.json", extra={"network": str(network_path), "split": split,
                                                      "dataset": cfg.dataset})
    if figure:
        plot(table, out / "robustness.png")
    return table
