"""Training configuration: one frozen dataclass, YAML round trip, validation with clear errors.

All options of a training run live in :class:`TrainConfig`; a YAML file is a flat mapping of its
field names.  Unknown keys, wrong types and out-of-range values raise :class:`ConfigError`, naming
the key, what was expected and what was found.  Times follow the project's rule: ``*_ms`` are
milliseconds, ``t_early`` / ``t_late`` are in units of ``tau_syn_ms``.

Schedule: the learning rate after epoch ``e`` (0-based, counted from the start) is::

    lr_e = lr * lr_gamma ** floor(e / lr_step_epochs)

Stabilisers (names follow fast-and-deep, Göltz et al. 2021):

* weight bumping: if in a batch the fraction of (sample, neuron) pairs of layer ``l`` without a
  spike exceeds ``max_silent_fraction[l]``, the incoming weights of the neurons of that layer whose
  own silent fraction exceeds it are raised by ``weight_bump_value`` (doubled on each further attempt
  for the same batch when ``bump_exponential``), and the batch is simulated again, at most
  ``max_bump_iterations`` times; then Dale's law is re-imposed;
* gradient dropping: the gradient of all incoming weights of a neuron is set to zero when its
  Euclidean norm exceeds ``max_grad_per_neuron`` (an exploding gradient near the threshold-grazing
  singularity of the spike time).
"""

import difflib
import math
import numbers
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..errors import DataMissingError, SpecError, SynsemError
from ..spec import NetworkSpec, check_tau
from .data import DATASET_NAMES, IMAGE_SHAPES, dataset_shape

__all__ = ["ConfigError", "TrainConfig", "bundled_config_names", "load_config"]


class ConfigError(SynsemError, ValueError):
    """A training configuration is invalid."""


def _err(key, expected, got, fix=None):
    msg = f"config key {key!r}: expected {expected}; got {got!r}."
    if fix:
        msg += f" {fix}"
    return ConfigError(msg)


@dataclass(frozen=True)
class TrainConfig:
    """All options of a training run.

    Parameters
    ----------
    dataset : {"mnist", "yinyang", "digits"}
        Which data to train on.
    data_dir : str or None
        Directory of the MNIST IDX files (None: ``SYNSEM_MNIST_DIR``, ``$SYNSEM_DATA/mnist``,
        ``<repo>/../shared/data/mnist``).
    train_size, test_size : int or None
        Keep the first n samples (MNIST, digits) or generate n samples (Yin-Yang); None = all /
        the published size (Yin-Yang 5,000 / 1,000).
    hidden : tuple of (n_exc, n_inh)
        Hidden layers; with ``dale=False`` give ``(n, 0)`` (a plain int n is accepted in YAML).
    dale : bool
        Hidden units obey Dale's law (outgoing weights of E units >= 0, of I units <= 0).
    tau_syn_ms, tau_mem_ms : float
        Synaptic and membrane time constants (ms); ratio 1 or 2.
    threshold : float
        Firing threshold.
    t_early, t_late : float
        Latency code: feature 1 spikes at ``t_early``, feature 0 at ``t_late`` (units of tau_syn).
    zero_never_spikes : bool
        Features equal to 0 produce no input spike instead of one at ``t_late``.
    xi, alpha, beta : float
        Loss temperature, regulariser weight and time scale (see :mod:`.loss`).
    epochs : int
        Number of epochs.
    batch_size : int
        Training mini-batch size.
    eval_batch_size : int
        Batch size for validation and test (memory only; no effect on results).
    lr : float
        Adam learning rate.
    adam_betas : (float, float)
        Adam's moment decay rates.
    adam_eps : float
        Adam's epsilon.
    lr_step_epochs : int
        Multiply the learning rate by ``lr_gamma`` every ``lr_step_epochs`` epochs (StepLR).
    lr_gamma : float
        Factor of the step schedule (1.0 = constant rate).
    input_noise_ms : float
        Standard deviation of Gaussian noise added to the input spike times during training (ms);
        0 = none.
    augment_shift_px : int
        Image datasets only (MNIST, digits): during training, translate each image by a random whole
        number of pixels, up to this many in each direction (uniform; black pixels shifted in);
        0 = none.  Drawn from its own seeded stream, checkpointed with the others.
    weight_bump_value : float
        Weight increment of the weight-bumping stabiliser; 0 disables it.
    max_silent_fraction : float or tuple of float or None
        Per layer (hidden layers then output; one float = all layers): the tolerated fraction of
        silent (sample, neuron) pairs in a batch before weights are bumped.  None: 0.3 for hidden
        layers, 0.0 for the output layer (fast-and-deep's Yin-Yang setting).
    bump_exponential : bool
        Double the bump on each further attempt for the same batch.
    max_bump_iterations : int
        Most re-simulations of one batch by weight bumping.
    max_grad_per_neuron : float or None
        Drop (zero) a neuron's incoming-weight gradient whose norm exceeds this; None disables.
    val_fraction : float
        Fraction of the training set held out for validation, in [0, 1).
    keep_best : bool
        At the end of training keep the weights of the epoch with the best validation accuracy
        (early stopping by selection; needs ``val_fraction > 0``) instead of the last epoch's. The
        best weights are tracked in every run and checkpoint, so this may be changed on ``--resume``.
    seed : int
        Seeds the weight initialisation, mini-batch order and input noise.
    data_seed : int
        Seeds the data: Yin-Yang generation, the digits train/test split and the validation split
        (kept apart from ``seed`` so that runs with different seeds see the same data).
    weight_init_mean, weight_init_std : tuple of float or None
        Per weight matrix (one entry per hidden layer plus output) mean and standard deviation of
        the Gaussian initial weights, in the simulator's units of ``threshold / (K_peak * n_pre)``
        (``K_peak`` the kernel's maximum, ``n_pre`` the layer's fan-in: mean 1 = all inputs arriving
        together at their peaks just reach threshold); an absolute weight ``w`` is
        ``w * K_peak * n_pre / threshold`` in these units (``K_peak = 1/e`` for tau_mem = tau_syn,
        ``1/4`` for tau_mem = 2 tau_syn).  None = the simulator's default
        (:data:`synsem_ephys.sim.network.DEFAULT_INIT`).  Under Dale's law the magnitudes are
        ``|N(mean, std)|`` with the presynaptic population's sign.
    weight_init_inh_scale : float
        Extra factor on the initial magnitude of inhibitory rows (Dale's law only).
    weight_init_inh_balance : float or tuple of float or None
        Dale's law only; replaces ``weight_init_inh_scale``: the inhibitory rows of a weight matrix
        are scaled so that the summed inhibitory weight onto a unit is, averaged over the layer's
        units, this fraction of the summed excitatory weight (1 = balanced: the mean drive cancels
        and firing depends on the input pattern).  One float for all matrices or one per weight
        matrix (hidden layers + output; the entry of the input matrix is unused).  None = off.
    init_calibrate_fraction : (float, float) or None
        After initialisation, scale each weight matrix in turn (:meth:`Network.calibrate_`) so that
        a fraction in ``[lo, hi]`` of its units fires on the first ``init_calibrate_samples``
        training inputs.  None = off.
    init_calibrate_output : (float, float) or None
        Then calibrate the output layer alone to this firing fraction (None = as the hidden layers).
    init_calibrate_samples : int
        Training inputs used by the calibration.
    lr_layer_factors : tuple of float or None
        Per weight matrix (hidden layers + output) factors on the learning rate (Adam's step is
        ``lr`` in absolute weight units, while weight scales differ between layers).  None = all 1.
    init_network : str or None
        Start from the weights of this network file (:meth:`Network.save`, e.g. a trained network to
        fine-tune) instead of a random initialisation; its spec must equal the config's.  The weight
        initialisation, balance and calibration options are then unused.  A relative path is taken
        from the working directory.  A resumed run takes its weights from its checkpoint and does not
        read this file again.  None = random initialisation.
    dtype : {"float64", "float32"}
        Floating type of the simulation.
    """

    dataset: str = "yinyang"
    data_dir: str = None
    train_size: int = None
    test_size: int = None
    hidden: tuple = ((120, 0),)
    dale: bool = False
    tau_syn_ms: float = 5.0
    tau_mem_ms: float = 5.0
    threshold: float = 1.0
    t_early: float = 0.15
    t_late: float = 2.0
    zero_never_spikes: bool = False
    xi: float = 0.2
    alpha: float = 0.005
    beta: float = 1.0
    epochs: int = 10
    batch_size: int = 50
    eval_batch_size: int = 1000
    lr: float = 0.005
    adam_betas: tuple = (0.9, 0.999)
    adam_eps: float = 1e-8
    lr_step_epochs: int = 20
    lr_gamma: float = 0.95
    input_noise_ms: float = 0.0
    augment_shift_px: int = 0
    weight_bump_value: float = 0.0005
    max_silent_fraction: tuple = None
    bump_exponential: bool = True
    max_bump_iterations: int = 10
    max_grad_per_neuron: float = None
    val_fraction: float = 0.1
    keep_best: bool = False
    seed: int = 0
    data_seed: int = 0
    weight_init_mean: tuple = None
    weight_init_std: tuple = None
    weight_init_inh_scale: float = 1.0
    weight_init_inh_balance: float = None
    init_calibrate_fraction: tuple = None
    init_calibrate_output: tuple = None
    init_calibrate_samples: int = 200
    lr_layer_factors: tuple = None
    init_network: str = None
    dtype: str = "float64"

    def __post_init__(self):
        s = object.__setattr__
        if self.dataset not in DATASET_NAMES:
            raise _err("dataset", f"one of {list(DATASET_NAMES)}", self.dataset)
        if self.data_dir is not None and not isinstance(self.data_dir, (str, Path)):
            raise _err("data_dir", "a path string or null", self.data_dir)
        if self.data_dir is not None:
            s(self, "data_dir", str(self.data_dir))
        for k in ("train_size", "test_size"):
            v = getattr(self, k)
            if v is not None:
                s(self, k, _int(k, v, 1))
        s(self, "hidden", _hidden(self.hidden, self.dale))
        for k in ("dale", "zero_never_spikes", "bump_exponential", "keep_best"):
            if not isinstance(getattr(self, k), bool):
                raise _err(k, "true or false", getattr(self, k))
        for k in ("tau_syn_ms", "tau_mem_ms", "threshold", "xi", "beta", "lr", "lr_gamma", "adam_eps",
                  "t_late", "weight_init_inh_scale"):
            s(self, k, _float(k, getattr(self, k), positive=True))
        for k in ("t_early", "alpha", "input_noise_ms", "weight_bump_value", "val_fraction"):
            s(self, k, _float(k, getattr(self, k), positive=False))
        try:
            check_tau(self.tau_syn_ms, self.tau_mem_ms)
        except SpecError as exc:
            raise _err("tau_mem_ms", "tau_mem_ms / tau_syn_ms equal to 1 or 2",
                       f"{self.tau_mem_ms} / {self.tau_syn_ms}", "Only these ratios have a closed-form spike time.") from exc
        if not self.t_late > self.t_early:
            raise _err("t_late", f"a value greater than t_early = {self.t_early}", self.t_late)
        if self.lr_gamma > 1:
            raise _err("lr_gamma", "a factor in (0, 1]", self.lr_gamma)
        if self.val_fraction >= 1:
            raise _err("val_fraction", "a fraction in [0, 1)", self.val_fraction)
        if self.keep_best and self.val_fraction == 0:
            raise _err("keep_best", "false when val_fraction is 0 (the best epoch is chosen on the validation split)",
                       self.keep_best, "Set val_fraction > 0 or keep_best: false.")
        for k, lo in (("epochs", 0), ("batch_size", 1), ("eval_batch_size", 1), ("lr_step_epochs", 1),
                      ("max_bump_iterations", 0), ("seed", 0), ("data_seed", 0)):
            s(self, k, _int(k, getattr(self, k), lo))
        betas = self.adam_betas
        if not (isinstance(betas, (list, tuple)) and len(betas) == 2):
            raise _err("adam_betas", "two floats in [0, 1)", betas)
        betas = tuple(_float("adam_betas", b, positive=False) for b in betas)
        if not all(b < 1 for b in betas):
            raise _err("adam_betas", "two floats in [0, 1)", list(betas))
        s(self, "adam_betas", betas)
        if self.max_grad_per_neuron is not None:
            s(self, "max_grad_per_neuron", _float("max_grad_per_neuron", self.max_grad_per_neuron, positive=True))
        n_layers = len(self.hidden) + 1
        msf = self.max_silent_fraction
        if msf is not None:
            if isinstance(msf, (numbers.Real, str)):
                msf = _float("max_silent_fraction", msf, positive=False)
                if msf > 1:
                    raise _err("max_silent_fraction", "a fraction in [0, 1]", msf)
            else:
                if not isinstance(msf, (list, tuple)) or len(msf) != n_layers:
                    raise _err("max_silent_fraction",
                               f"null, one float or a list of {n_layers} floats (hidden layers + output)", msf)
                msf = tuple(_float("max_silent_fraction", v, positive=False) for v in msf)
                if any(v > 1 for v in msf):
                    raise _err("max_silent_fraction", "fractions in [0, 1]", list(msf))
            s(self, "max_silent_fraction", msf)
        for k in ("weight_init_mean", "weight_init_std"):
            v = getattr(self, k)
            if v is None:
                continue
            if isinstance(v, numbers.Real):
                v = (v,) * n_layers
            if not isinstance(v, (list, tuple)) or len(v) != n_layers:
                raise _err(k, f"null or a list of {n_layers} floats (one per weight matrix: hidden layers + output)", v)
            s(self, k, tuple(_float(k, x, positive=(k == "weight_init_std")) for x in v))
        if (self.weight_init_mean is None) != (self.weight_init_std is None):
            raise _err("weight_init_std", "given together with weight_init_mean (both or neither)",
                       self.weight_init_std, "Set both per-layer lists, or neither for the simulator default.")
        v = self.weight_init_inh_balance
        if v is not None:
            if isinstance(v, (numbers.Real, str)):
                v = _float("weight_init_inh_balance", v, positive=False)
            elif isinstance(v, (list, tuple)) and len(v) == n_layers:
                v = tuple(_float("weight_init_inh_balance", x, positive=False) for x in v)
            else:
                raise _err("weight_init_inh_balance",
                           f"null, one float or a list of {n_layers} floats (hidden layers + output)", v)
            s(self, "weight_init_inh_balance", v)
        for k in ("init_calibrate_fraction", "init_calibrate_output"):
            v = getattr(self, k)
            if v is None:
                continue
            ok = isinstance(v, (list, tuple)) and len(v) == 2
            if ok:
                v = tuple(_float(k, x, positive=False) for x in v)
                ok = v[0] <= v[1] <= 1.0
            if not ok:
                raise _err(k, "null or [lo, hi] with 0 <= lo <= hi <= 1 (fraction of units that fire)", v)
            s(self, k, v)
        if self.init_calibrate_output is not None and self.init_calibrate_fraction is None:
            raise _err("init_calibrate_output", "null unless init_calibrate_fraction is set",
                       self.init_calibrate_output, "Set init_calibrate_fraction too.")
        s(self, "init_calibrate_samples", _int("init_calibrate_samples", self.init_calibrate_samples, 1))
        v = self.lr_layer_factors
        if v is not None:
            if not isinstance(v, (list, tuple)) or len(v) != n_layers:
                raise _err("lr_layer_factors", f"null or a list of {n_layers} positive floats (hidden layers + output)", v)
            s(self, "lr_layer_factors", tuple(_float("lr_layer_factors", x, positive=True) for x in v))
        s(self, "augment_shift_px", _int("augment_shift_px", self.augment_shift_px, 0))
        if self.augment_shift_px:
            if self.dataset not in IMAGE_SHAPES:
                raise _err("augment_shift_px", f"0 for the non-image dataset {self.dataset!r}", self.augment_shift_px,
                           f"Shift augmentation applies to the image datasets {sorted(IMAGE_SHAPES)}.")
            side = min(IMAGE_SHAPES[self.dataset])
            if self.augment_shift_px >= side:
                raise _err("augment_shift_px", f"an integer in [0, {side - 1}] for {self.dataset!r}", self.augment_shift_px)
        if self.init_network is not None:
            if not isinstance(self.init_network, (str, Path)) or not str(self.init_network):
                raise _err("init_network", "a network file path or null", self.init_network)
            s(self, "init_network", str(self.init_network))
        if self.dtype not in ("float64", "float32"):
            raise _err("dtype", "'float64' or 'float32'", self.dtype)

    # ------------------------------------------------------------------ derived
    def network_spec(self):
        """The :class:`~synsem_ephys.spec.NetworkSpec` of this run (inputs / outputs from the dataset)."""
        n_in, n_out = dataset_shape(self.dataset)
        return NetworkSpec(n_inputs=n_in, hidden=self.hidden, n_outputs=n_out, tau_syn_ms=self.tau_syn_ms,
                           tau_mem_ms=self.tau_mem_ms, threshold=self.threshold, dale=self.dale)

    @property
    def silent_fractions(self):
        """``max_silent_fraction`` expanded to one float per weight matrix (hidden layers + output)."""
        n = len(self.hidden) + 1
        msf = self.max_silent_fraction
        if msf is None:
            return (0.3,) * (n - 1) + (0.0,)
        if isinstance(msf, float):
            return (msf,) * n
        return msf

    def lr_at_epoch(self, epoch):
        """Learning rate used during epoch ``epoch`` (0-based)."""
        return self.lr * self.lr_gamma ** (int(epoch) // self.lr_step_epochs)

    def replace(self, **changes):
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ dict / YAML
    def to_dict(self):
        """Plain dict (lists instead of tuples), YAML- and JSON-able."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = [list(x) if isinstance(x, tuple) else x for x in v]
        return d

    @classmethod
    def from_dict(cls, d, source="config"):
        """Build from a mapping of field names; unknown keys are an error naming the closest key."""
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: expected a mapping of option names to values; got {type(d).__name__}.")
        known = [f.name for f in fields(cls)]
        for k in d:
            if k not in known:
                close = difflib.get_close_matches(str(k), known, n=1)
                hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(known)}."
                raise ConfigError(f"{source}: unknown key {k!r}; expected one of the TrainConfig fields. {hint}")
        if source == "config":
            return cls(**d)
        try:
            return cls(**d)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from exc

    def to_yaml(self, path=None):
        """YAML text of the config; also written to ``path`` when given."""
        import yaml

        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_yaml(cls, path_or_text):
        """Load from a YAML file path (or YAML text containing a newline)."""
        import yaml

        if isinstance(path_or_text, str) and "\n" in path_or_text:
            text, source = path_or_text, "config"
        else:
            p = Path(path_or_text)
            if not p.is_file():
                raise DataMissingError(f"config: expected an existing YAML file; got {str(p)!r}, which does not exist.")
            text, source = p.read_text(), str(p)
        try:
            d = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: expected valid YAML; got a parse error: {exc}") from exc
        return cls.from_dict({} if d is None else d, source=source)


_CONFIG_DIR = Path(__file__).parent / "configs"


def bundled_config_names():
    """Sorted names of the bundled configs (``synsem_ephys/train/configs/<name>.yaml``), for :func:`load_config`."""
    return sorted(q.stem for q in _CONFIG_DIR.glob("*.yaml"))


def load_config(path_or_name):
    """Load a YAML config from a path, or a bundled one by name (``"mnist_dale"``, ``"yinyang"``)."""
    p = Path(path_or_name)
    if not p.is_file():
        bundled = _CONFIG_DIR / (p.name if p.suffix in (".yaml", ".yml") else p.name + ".yaml")
        if bundled.is_file():
            p = bundled
        else:
            raise DataMissingError(f"config: expected a YAML file or a bundled config name {bundled_config_names()}; "
                                   f"got {str(path_or_name)!r}.")
    return TrainConfig.from_yaml(p)


# ------------------------------------------------------------------ helpers
def _float(key, v, positive):
    if isinstance(v, str):  # PyYAML reads 5e-3 (no dot) as a string
        try:
            v = float(v)
        except ValueError:
            raise _err(key, "a number", v) from None
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise _err(key, "a finite number", v)
    if positive and not v > 0:
        raise _err(key, "a positive number", v)
    if not positive and v < 0:
        raise _err(key, "a non-negative number", v)
    return float(v)


def _int(key, v, lo):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise _err(key, f"an integer >= {lo}", v)
    if v < lo:
        raise _err(key, f"an integer >= {lo}", v)
    return int(v)


def _hidden(h, dale):
    if not isinstance(h, (list, tuple)) or len(h) == 0:
        raise _err("hidden", "a non-empty list of [n_exc, n_inh] pairs (one per hidden layer)", h)
    out = []
    for k, layer in enumerate(h):
        if isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
            layer = (layer, 0)
        if not (isinstance(layer, (list, tuple)) and len(layer) == 2
                and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0 for v in layer)
                and sum(layer) > 0):
            raise _err(f"hidden[{k}]", "[n_exc, n_inh], non-negative ints with n_exc + n_inh >= 1", layer)
        if not dale and layer[1] != 0:
            raise _err(f"hidden[{k}]", "n_inh == 0 when dale is false", list(layer),
                       "Set dale: true, or give the layer as [n, 0].")
        out.append((int(layer[0]), int(layer[1])))
    return tuple(out)
