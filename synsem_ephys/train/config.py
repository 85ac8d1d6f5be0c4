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

from .._files import write_text_atomic
from ..errors import ConfigError, DataMissingError, SpecError, input_error
from ..optional import require
from ..spec import DELAY_KINDS, NetworkSpec, check_hidden, check_tau
from .data import DATASET_NAMES, IMAGE_SHAPES, dataset_shape

__all__ = ["ConfigError", "TrainConfig", "bundled_config_names", "load_config"]

#: values of ``rewire_regrow`` (as :data:`synsem_ephys.train.rewiring.REGROW`; config.py imports no torch)
REWIRE_REGROW = ("rigl_signed", "rigl_abs", "random")

#: values of ``delay_init`` (as :data:`synsem_ephys.sim.network.DELAY_INITS`; config.py imports no torch)
DELAY_INITS = ("normal", "uniform", "half")


def _err(key, expected, got, fix=None):
    return input_error(f"config key {key!r}", expected, repr(got), fix, cls=ConfigError)


@dataclass(frozen=True)
class TrainConfig:
    """All options of a training run.

    Parameters
    ----------
    dataset : {"mnist", "yinyang", "digits", "locust", "spoken_digits"}
        Which data to train on.
    data_dir : str or None
        Directory of the MNIST IDX files (None: ``SYNSEM_MNIST_DIR``, ``$SYNSEM_DATA/mnist``,
        ``<repo>/../shared/data/mnist``), or of the locust text files (None: ``$SYNSEM_DATA/ephys/locust20010214``).
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
        (early stopping by selection; needs ``val_fraction > 0``) instead of the last epoch's (with
        ``sparsity``, its rewiring masks too). The best weights are tracked in every run and checkpoint, so this may be changed on ``--resume``.
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
    delay_kind : str or tuple of str
        Transmission delays per weight matrix (hidden layers + output), one of ``"none"``, ``"axonal"``,
        ``"dendritic"``, ``"synaptic"`` (one string = every matrix), learned as ``d = delay_max_ms *
        sigmoid(theta)`` (:class:`synsem_ephys.sim.Network`; recorded in the network's spec).  ``"none"`` =
        no delays (the network and the run are those of a config without delay options).
    delay_max_ms : float or tuple of float or None
        Bound of the delays (ms) per weight matrix (one float = every matrix); None = ``tau_syn_ms``.
        Only with delays.
    delay_lr_factor : float
        Learning rate of the delay parameters ``theta`` relative to ``lr`` (the schedule applies to both);
        0 = fixed delays (drawn at initialisation, not learned).
    delay_init : {"normal", "uniform", "half"}
        Initial delays: ``theta ~ N(0, 0.25^2)`` (about ``delay_max_ms / 2``), ``d ~ U(0, delay_max_ms)``
        or ``d = delay_max_ms / 2``; drawn from their own stream, so the initial weights are those without delays.
    delay_l2 : float
        L2 penalty ``alpha_d * sum_l mean((d_l / tau_syn_ms)^2)`` on the learned delays (DelGrad's regulariser; the
        mean over a matrix's delay parameters, delays in units of ``tau_syn_ms``); 0 = none. Needs delays.
    eval_round_delays_ms : float or None
        Validation and test (and so the best-epoch choice) with every delay rounded to the nearest point of the
        grid ``k * eval_round_delays_ms`` in ``[0, delay_max_ms]`` (Mészáros et al. 2024 evaluate with integer
        delay taps); training uses the continuous delays; the saved network keeps them. None = no rounding.
        Needs delays.
    sparsity : float or tuple of float or None
        Sparse connectivity (:mod:`.rewiring`): per weight matrix (one float = every matrix) the fraction
        ``p`` of absent synapses, in ``[0, 1 - 2^-9]`` (the levels ``1 - 2^-k``); exactly
        ``round((1 - p) N)`` synapses of a matrix of ``N`` entries are active at every step. The initial
        mask is random (the rewiring's own stream) over the dense initial weights (not rescaled by default: a
        synapse ``1 / (1 - p)`` times stronger reaches threshold alone and the first spike then carries no timing;
        weight bumping or ``init_calibrate_fraction`` restore the drive; see ``rewire_rescale``). None = dense.
    rewire_regrow : {"rigl_signed", "rigl_abs", "random"} or None
        With ``sparsity``: DEEP R removal (a synapse whose magnitude reaches 0 is removed; signs fixed) and
        as many regrown, by the most negative signed gradient of the magnitude (Mészáros et al. 2024), the
        largest ``|dL/dW|`` (RigL) or at random (DEEP R). None = a fixed random mask (signs free).
    rewire_l1 : float
        L1 pressure on the active magnitudes, in units of ``1 / u_l`` (``u_l`` the matrix's weight unit
        ``threshold / (K_peak n_pre)``); 0 = none. Needs ``sparsity``.
    rewire_every : int
        Remove and regrow every this many batches (1 = every batch).
    rewire_t_end : float
        Remove and regrow only during this fraction of the ``epochs * batches`` steps (RigL: 0.75); 1 =
        throughout (whatever ``epochs`` becomes on a resume).
    rewire_sign : {"init", "presynaptic"}
        Fixed signs of free rows (the input matrix; every matrix without Dale's law): the initial weight's
        sign per synapse, or one random sign per presynaptic unit (~50:50).
    rewire_temperature : float
        DEEP R's Langevin temperature ``T`` (:mod:`.rewiring`): noise ``sqrt(2 eta_l T u_l) N(0, 1)`` on the active
        magnitudes after every step while rewiring (``eta_l`` the matrix's learning rate); 0 = none (Mészáros et
        al. 2024). Needs ``rewire_regrow``.
    rewire_rescale : bool
        Divide the initial active weights of matrix ``l`` by ``1 - p_l`` (the summed drive onto a unit kept in
        expectation). Off by default; for the highest sparsities, where a unit keeps one or two synapses and the
        dense initial weights leave it silent (measured: MNIST 784-(300E+100I)-10 at p = 0.998, 612 input synapses
        for 400 hidden units, no output spike and 0 % after one epoch without it). Needs ``sparsity``.
    dtype : {"float64", "float32"}
        Floating type of the simulation.
    ssdp_variant : {"faithful", "no_silent", "causal", "sign_aware"} or None
        Spike-synchrony-dependent plasticity (:mod:`.ssdp`) after each optimiser step, before Dale's clamp;
        None = off.
    ssdp_a_plus : float
        SSDP potentiation amplitude relative to the SD of the targeted matrix at the start epoch.
    ssdp_base_ratio : float
        SSDP depression amplitude ``A_base / A+``.
    ssdp_sigma_tau : float
        Width of SSDP's Gaussian latency window in units of ``tau_syn_ms``.
    ssdp_start_epoch : int or None
        First (0-based) epoch with SSDP; None = ``max(1, round(0.1 * epochs))``.
    ssdp_layers : list of int
        The weight matrices SSDP acts on (Python indices: -1 = hidden -> output).
    ssdp_end_epoch : int or None
        Epoch at which SSDP's cosine amplitude factor reaches 0.5 (held after it); None = ``epochs``. The resolved
        start and end are checkpointed: a resume with a raised ``epochs`` keeps the schedule the run began with.
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
    delay_kind: tuple = "none"
    delay_max_ms: tuple = None
    delay_lr_factor: float = 0.5
    delay_init: str = "normal"
    delay_l2: float = 0.0
    eval_round_delays_ms: float = None
    sparsity: tuple = None
    rewire_regrow: str = None
    rewire_l1: float = 0.0
    rewire_every: int = 1
    rewire_t_end: float = 1.0
    rewire_sign: str = "init"
    rewire_temperature: float = 0.0
    rewire_rescale: bool = False
    dtype: str = "float64"
    ssdp_variant: str = None
    ssdp_a_plus: float = 3e-3
    ssdp_base_ratio: float = 1 / 3
    ssdp_sigma_tau: float = 0.25
    ssdp_start_epoch: int = None
    ssdp_layers: tuple = (-1,)
    ssdp_end_epoch: int = None

    def __post_init__(self):
        s = object.__setattr__
        n_layers = len(self.hidden) + 1 if isinstance(self.hidden, (list, tuple)) else 1
        for key, kind, bound, nullable in _CONSTRAINTS:
            v = getattr(self, key)
            if v is None and nullable:
                continue
            s(self, key, _check(key, v, kind, bound, n_layers))
        try:  # the network's own fields are checked by NetworkSpec's rules (one home)
            s(self, "hidden", check_hidden(self.hidden, self.dale))
            check_tau(self.tau_syn_ms, self.tau_mem_ms)
        except SpecError as exc:
            msg = str(exc)
            key = msg.split(":", 1)[0] if msg.startswith("hidden") else "tau_mem_ms"
            if key == "tau_mem_ms":
                raise _err("tau_mem_ms", "tau_mem_ms / tau_syn_ms equal to 1 or 2", f"{self.tau_mem_ms} / {self.tau_syn_ms}",
                           "Only these ratios have a closed-form spike time.") from exc
            raise ConfigError(f"config key {key!r}: {msg.split(': ', 1)[1]}") from exc
        if not self.t_late > self.t_early:
            raise _err("t_late", f"a value greater than t_early = {self.t_early}", self.t_late)
        if self.keep_best and self.val_fraction == 0:
            raise _err("keep_best", "false when val_fraction is 0 (the best epoch is chosen on the validation split)",
                       self.keep_best, "Set val_fraction > 0 or keep_best: false.")
        if (self.weight_init_mean is None) != (self.weight_init_std is None):
            raise _err("weight_init_std", "given together with weight_init_mean (both or neither)",
                       self.weight_init_std, "Set both per-layer lists, or neither for the simulator default.")
        if self.init_calibrate_output is not None and self.init_calibrate_fraction is None:
            raise _err("init_calibrate_output", "null unless init_calibrate_fraction is set",
                       self.init_calibrate_output, "Set init_calibrate_fraction too.")
        if self.augment_shift_px:
            if self.dataset not in IMAGE_SHAPES:
                raise _err("augment_shift_px", f"0 for the non-image dataset {self.dataset!r}", self.augment_shift_px,
                           f"Shift augmentation applies to the image datasets {sorted(IMAGE_SHAPES)}.")
            side = min(IMAGE_SHAPES[self.dataset])
            if self.augment_shift_px >= side:
                raise _err("augment_shift_px", f"an integer in [0, {side - 1}] for {self.dataset!r}", self.augment_shift_px)

        if self.delay_max_ms is not None and self.delay_kind in ("none", ("none",) * n_layers):
            raise _err("delay_max_ms", "null without delays (delay_kind 'none')", self.delay_max_ms,
                       "Set delay_kind too, or drop delay_max_ms.")

        no_delays = self.delay_kind in ("none", ("none",) * n_layers)
        for key in ("delay_l2", "eval_round_delays_ms"):
            if no_delays and getattr(self, key) not in (None, 0.0):
                raise _err(key, "its default (0 / null) without delays (delay_kind 'none')", getattr(self, key),
                           "Set delay_kind too, or drop the key.")
        if self.rewire_temperature > 0 and self.rewire_regrow is None:
            raise _err("rewire_temperature", "0 without rewire_regrow (a fixed mask has no removal)",
                       self.rewire_temperature, "Set rewire_regrow, or drop rewire_temperature.")

        if self.sparsity is None and (self.rewire_regrow is not None or self.rewire_l1 > 0 or self.rewire_rescale):
            raise _err("sparsity", "a sparsity (a float or one per weight matrix) with rewire_regrow, rewire_l1 or "
                       "rewire_rescale", None, "Set sparsity, e.g. 0.875; 0 keeps every synapse.")

    # ------------------------------------------------------------------ derived
    def network_spec(self):
        """The :class:`~synsem_ephys.spec.NetworkSpec` of this run (inputs / outputs from the dataset)."""
        n_in, n_out = dataset_shape(self.dataset)
        return NetworkSpec(n_inputs=n_in, hidden=self.hidden, n_outputs=n_out, tau_syn_ms=self.tau_syn_ms,
                           tau_mem_ms=self.tau_mem_ms, threshold=self.threshold, dale=self.dale,
                           delays=self.delay_kind, delay_max_ms=self.delay_max_ms)

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
        """YAML text of the config; also written atomically to ``path`` when given."""
        yaml = require("yaml", "YAML training configs")

        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)
        if path is not None:
            write_text_atomic(path, text)
        return text

    @classmethod
    def from_yaml(cls, path_or_text):
        """Load from a YAML file path (or YAML text containing a newline).

        The text must be UTF-8 and one mapping of field names, each key once: a key given twice, an empty
        file (or one of comments only) and text that is not UTF-8 are ConfigErrors naming the file, not
        "the last value wins" or "train the defaults".
        """
        yaml = require("yaml", "YAML training configs")

        if isinstance(path_or_text, str) and "\n" in path_or_text:
            text, source = path_or_text, "config"
        else:
            p = Path(path_or_text)
            if not p.is_file():
                raise DataMissingError(f"config: expected an existing YAML file; got {str(p)!r}, which does not exist.")
            source = str(p)
            raw = p.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[:exc.start].count(b"\n") + 1
                raise ConfigError(f"{source}: expected UTF-8 text; got the byte {raw[exc.start:exc.start + 1]!r} at "
                                  f"offset {exc.start} (line {line}), which is not UTF-8. Save the file as UTF-8.") from None
        try:
            d = yaml.load(text, Loader=_strict_loader(yaml))
        except _DuplicateKey as exc:
            raise ConfigError(f"{source}: key {exc.key!r} given twice (lines {exc.first} and {exc.again}); expected "
                              "each key once. Remove one of them.") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: expected valid YAML; got a parse error: {' '.join(str(exc).split())}") from exc
        if d is None:
            raise ConfigError(f"{source}: expected a mapping of option names to values; got an empty file (no options). "
                              "Write the options to set, e.g. 'dataset: yinyang', or load a bundled config by name.")
        return cls.from_dict(d, source=source)


_LOADERS = {}


class _DuplicateKey(Exception):
    def __init__(self, key, first, again):
        super().__init__(key)
        self.key, self.first, self.again = key, first, again


def _strict_loader(yaml):
    """A ``yaml.SafeLoader`` that refuses a mapping key given twice (PyYAML keeps the last one silently)."""
    if "strict" not in _LOADERS:
        class StrictLoader(yaml.SafeLoader):
            def construct_mapping(self, node, deep=False):
                if isinstance(node, yaml.MappingNode):
                    seen = {}
                    for key_node, _ in node.value:
                        if key_node.tag == "tag:yaml.org,2002:merge":
                            continue
                        key = self.construct_object(key_node, deep=True)
                        try:
                            hash(key)
                        except TypeError:  # an unhashable key: SafeLoader's own error follows
                            continue
                        line = key_node.start_mark.line + 1
                        if key in seen:  # keys equal in Python (1, 1.0, true) would collide in the dict too
                            raise _DuplicateKey(key, seen[key], line)
                        seen[key] = line
                return super().construct_mapping(node, deep=deep)

        _LOADERS["strict"] = StrictLoader
    return _LOADERS["strict"]


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


# ------------------------------------------------------------------ constraints
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


def _is_scalar(v):
    return isinstance(v, (numbers.Real, str)) and not isinstance(v, bool)


def _check(key, v, kind, bound, n_layers):
    """``v`` checked and normalised by the rule ``kind`` with parameter ``bound`` (see :data:`_CONSTRAINTS`)."""
    if kind in ("positive", "non-negative"):
        return _float(key, v, positive=kind == "positive")
    if kind == "below":  # (positive, hi, hi included, expected text): a bounded float
        positive, hi, closed, text = bound
        x = _float(key, v, positive)
        if x > hi if closed else x >= hi:
            raise _err(key, text, x)
        return x
    if kind == "int":
        return _int(key, v, bound)
    if kind == "bool":
        if not isinstance(v, bool):
            raise _err(key, "true or false", v)
        return v
    if kind == "path":
        if not isinstance(v, (str, Path)) or not str(v):
            raise _err(key, bound, v)
        return str(v)
    if kind == "choice":
        if v not in bound:
            raise _err(key, f"one of {list(bound)}", v)
        return v
    if kind == "betas":
        if not (isinstance(v, (list, tuple)) and len(v) == 2):
            raise _err(key, "two floats in [0, 1)", v)
        betas = tuple(_float(key, b, positive=False) for b in v)
        if not all(b < 1 for b in betas):
            raise _err(key, "two floats in [0, 1)", list(betas))
        return betas
    if kind == "pair":  # [lo, hi] fractions
        ok = isinstance(v, (list, tuple)) and len(v) == 2
        if ok:
            v = tuple(_float(key, x, positive=False) for x in v)
            ok = v[0] <= v[1] <= 1.0
        if not ok:
            raise _err(key, "null or [lo, hi] with 0 <= lo <= hi <= 1 (fraction of units that fire)", v)
        return v
    if kind == "choices":  # one of the choices, or one per weight matrix
        if isinstance(v, str):
            if v not in bound:
                raise _err(key, f"one of {list(bound)} or a list of {n_layers} of them", v)
            return v
        if not (isinstance(v, (list, tuple)) and len(v) == n_layers and all(x in bound for x in v)):
            raise _err(key, f"one of {list(bound)} or a list of {n_layers} of them (one per weight matrix: hidden "
                       "layers + output)", v)
        return tuple(v)
    if kind == "per_layer":  # one float or one per weight matrix: the rule of every per-layer option
        scalar, sign, top = bound  # scalar: "keep" | "broadcast" | None (refused)
        positive = sign == "positive"
        if _is_scalar(v) and scalar is not None:
            x = _float(key, v, positive)
            if top is not None and x > top:
                raise _err(key, f"a fraction in [0, {top:g}]", x)
            return x if scalar == "keep" else (x,) * n_layers
        if not isinstance(v, (list, tuple)) or len(v) != n_layers:
            one = "one float or " if scalar is not None else ""
            what = "positive floats" if positive and scalar is None else "floats"
            raise _err(key, f"null, {one}a list of {n_layers} {what} (one per weight matrix: hidden layers + output)", v)
        out = tuple(_float(key, x, positive) for x in v)
        if top is not None and any(x > top for x in out):
            raise _err(key, f"fractions in [0, {top:g}]", list(out))
        return out
    if kind == "indices":  # a non-empty list of weight-matrix indices (negative from the end)
        ok = isinstance(v, (list, tuple)) and len(v) > 0 and all(
            isinstance(i, numbers.Integral) and not isinstance(i, bool) and -n_layers <= i < n_layers for i in v)
        if not ok:
            raise _err(key, f"a non-empty list of weight-matrix indices in [-{n_layers}, {n_layers - 1}]", v)
        return tuple(int(i) for i in v)
    raise AssertionError(kind)  # pragma: no cover - a typo in _CONSTRAINTS


#: (field, kind, bound, nullable): every field's constraint, read by one loop in TrainConfig.__post_init__.
#: Cross-field rules (t_late > t_early, keep_best needs a validation split, ...) follow the loop; the network's
#: fields (hidden with dale, the tau ratio) are NetworkSpec's rules (spec.check_hidden, spec.check_tau).
_CONSTRAINTS = (
    ("dataset", "choice", DATASET_NAMES, False),
    ("data_dir", "path", "a path string or null", True),
    ("train_size", "int", 1, True), ("test_size", "int", 1, True),
    ("dale", "bool", None, False), ("zero_never_spikes", "bool", None, False),
    ("bump_exponential", "bool", None, False), ("keep_best", "bool", None, False),
    ("tau_syn_ms", "positive", None, False), ("tau_mem_ms", "positive", None, False),
    ("threshold", "positive", None, False), ("xi", "positive", None, False), ("beta", "positive", None, False),
    ("lr", "positive", None, False), ("adam_eps", "positive", None, False), ("t_late", "positive", None, False),
    ("weight_init_inh_scale", "positive", None, False),
    ("t_early", "non-negative", None, False), ("alpha", "non-negative", None, False),
    ("input_noise_ms", "non-negative", None, False), ("weight_bump_value", "non-negative", None, False),
    ("lr_gamma", "below", (True, 1.0, True, "a factor in (0, 1]"), False),
    ("val_fraction", "below", (False, 1.0, False, "a fraction in [0, 1)"), False),
    ("epochs", "int", 0, False), ("batch_size", "int", 1, False), ("eval_batch_size", "int", 1, False),
    ("lr_step_epochs", "int", 1, False), ("max_bump_iterations", "int", 0, False), ("seed", "int", 0, False),
    ("data_seed", "int", 0, False), ("init_calibrate_samples", "int", 1, False), ("augment_shift_px", "int", 0, False),
    ("adam_betas", "betas", None, False),
    ("max_grad_per_neuron", "positive", None, True),
    ("max_silent_fraction", "per_layer", ("keep", "non-negative", 1.0), True),
    ("weight_init_mean", "per_layer", ("broadcast", "non-negative", None), True),
    ("weight_init_std", "per_layer", ("broadcast", "positive", None), True),
    ("weight_init_inh_balance", "per_layer", ("keep", "non-negative", None), True),
    ("lr_layer_factors", "per_layer", (None, "positive", None), True),
    ("init_calibrate_fraction", "pair", None, True), ("init_calibrate_output", "pair", None, True),
    ("init_network", "path", "a network file path or null", True),
    ("delay_kind", "choices", DELAY_KINDS, False), ("delay_max_ms", "per_layer", ("keep", "positive", None), True),
    ("delay_lr_factor", "non-negative", None, False), ("delay_init", "choice", DELAY_INITS, False),
    ("delay_l2", "non-negative", None, False), ("eval_round_delays_ms", "positive", None, True),
    ("sparsity", "per_layer", ("broadcast", "non-negative", 1 - 2.0 ** -9), True),
    ("rewire_regrow", "choice", REWIRE_REGROW, True), ("rewire_l1", "non-negative", None, False),
    ("rewire_every", "int", 1, False), ("rewire_t_end", "below", (True, 1.0, True, "a fraction in (0, 1]"), False),
    ("rewire_sign", "choice", ("init", "presynaptic"), False), ("rewire_temperature", "non-negative", None, False),
    ("rewire_rescale", "bool", None, False),
    ("dtype", "choice", ("float64", "float32"), False),
    ("ssdp_variant", "choice", ("faithful", "no_silent", "causal", "sign_aware"), True),
    ("ssdp_a_plus", "non-negative", None, False), ("ssdp_base_ratio", "non-negative", None, False),
    ("ssdp_sigma_tau", "positive", None, False), ("ssdp_start_epoch", "int", 0, True),
    ("ssdp_layers", "indices", None, False), ("ssdp_end_epoch", "int", 1, True),
)
