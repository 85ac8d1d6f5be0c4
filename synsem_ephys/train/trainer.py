"""Trainer for exact time-to-first-spike networks (Göltz et al. 2021), with exact resume.

One training step on a mini-batch ``(x, y)``::

    t_in  = latency_encode(shift(x)) + N(0, input_noise_ms^2)   (shift: random translation by up to
                                                                 augment_shift_px pixels, image datasets;
                                                                 noise on finite times, clipped at 0)
    outs  = net(t_in)                                            (exact spike times per layer)
    [weight bumping: while the earliest layer l with silent fraction > max_silent_fraction[l]
     exists and fewer than max_bump_iterations re-simulations were made:
        W_l[:, n] += weight_bump_value * 2^k   for its neurons n silent in > max_silent_fraction[l]
                                               of the samples (k = 0, 1, ... if bump_exponential);
        enforce Dale; outs = net(t_in)]
    L     = ttfs_loss(outs[-1], y)                               (see :mod:`.loss`)
    grad  = dL/dW;  per neuron n: grad[:, n] = 0  if ||grad[:, n]|| > max_grad_per_neuron or not finite
    Adam step with lr_e = lr * lr_gamma ** floor(e / lr_step_epochs) (times lr_layer_factors[l] for W_l)
    [rewiring (config sparsity): masks, signs, removal and regrowth, see below]
    [SSDP (config ssdp_variant, from ssdp_start_epoch): W_l += dW_l(spikes of this batch) on the active
     synapses, see :mod:`.ssdp`]
    enforce Dale

Delays (config ``delay_kind``): the network's delay parameters ``theta`` (``d = delay_max_ms * sigmoid(theta)``)
are trained by the same Adam, one parameter group per matrix at ``lr_e * delay_lr_factor`` (0: fixed delays, not
optimised; a non-finite delay gradient entry is set to 0); they are checkpointed with the weights
(``delays.<matrix>``) and the best validation epoch keeps them with its weights. With ``delay_l2 = alpha_d > 0``
the gradient of ``alpha_d * sum_l mean((d_l / tau_syn_ms)^2)`` (DelGrad's L2 delay regulariser, the mean over the
matrix's delay parameters) is added to the delays' gradients (the reported loss stays the TTFS loss); with
``eval_round_delays_ms`` validation and test run with the delays rounded to that grid
(:attr:`synsem_ephys.sim.Network.round_delays_ms`), training with the continuous ones.

Sparse connectivity (config ``sparsity``, :mod:`.rewiring`): a random mask at the start (before the balance and
calibration); L1 pressure ``rewire_l1`` added to the gradients before the step; after the step (before SSDP and
Dale's clamp) dormant synapses are set to 0, signs kept and, with ``rewire_regrow``, synapses whose magnitude reached 0
removed and as many regrown; after each weight bump dormant synapses are set to 0 again. Masks, signs, the step
counter and the rewiring's random stream are checkpointed; ``keep_best`` restores the best epoch's masks with its
weights.

The network at initialisation (a network with delays only): after the masks, the balance and the calibration,
before the first step, ``fit`` of a fresh run writes it to ``<out_dir>/network_init.pt`` (:data:`INITIAL_NETWORK_NAME`,
a :meth:`Network.save` file of the same size as ``network.pt``), and ``network.pt``'s extra names it
(``"initial_network_file": {"path", "md5"}``); :func:`initial_network` reads it back. It is the third null of the
report's E/I structure (:mod:`synsem_ephys.report.run`). It is stored, not re-derived from the seed: the
calibration depends on the training data and the device, so a replay would need the data and could differ in the
last bits on another machine.

Randomness comes from ``config.seed``: the network's weight initialisation
(``Network(spec, seed=config.seed)``, unless ``init_network`` gives the starting weights) and three
streams derived with ``numpy.random.SeedSequence``: mini-batch order (numpy), input noise and image
shifts (torch); the data come from ``config.data_seed``.  After every epoch the
weights, Adam's state, the live generators, the epoch counter and the metrics are written
atomically to ``<out_dir>/checkpoint.pt``; resuming restores all of them, so ``k`` epochs + resume
+ ``m`` epochs gives bit-identical weights to ``k + m`` epochs in one go, and a killed run loses at
most the epoch in progress.
"""

import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .._files import json_dumps, write_text_atomic
from ..errors import DataFormatError, input_error
from ..optional import require
from .checkpoint import load_checkpoint, restore_rng, rng_state, save_checkpoint
from .config import ConfigError, TrainConfig, load_config
from .data import IMAGE_SHAPES, LabelledData, load_dataset, split_validation
from ..encoding import LatencyCode, jitter_times, shift_images
from .loss import accuracy, ttfs_loss
from .ssdp import SSDP
from .rewiring import Rewiring, weight_units
from .stabilisers import balance_inhibition_, bump_silent_, drop_large_gradients_

__all__ = ["EpochMetrics", "TrainResult", "Trainer", "train_from_config", "network_from_checkpoint", "CHECKPOINT_NAME",
           "NETWORK_NAME", "SCHEDULE_FIELDS", "INITIAL_NETWORK_NAME", "initial_network"]

CHECKPOINT_NAME = "checkpoint.pt"
#: Config fields that ``--resume --allow-schedule-change`` may change: the learning-rate schedule, the
#: input-time noise and the image-shift augmentation (regularisers one may switch on once a run starts to overfit).
SCHEDULE_FIELDS = ("lr", "lr_step_epochs", "lr_gamma", "input_noise_ms", "augment_shift_px")
NETWORK_NAME = "network.pt"
#: The network at initialisation of a run with delays (module docstring).
INITIAL_NETWORK_NAME = "network_init.pt"
_DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class EpochMetrics:
    """Metrics of one training epoch.

    Attributes
    ----------
    epoch : int
        1-based epoch number.
    lr : float
        Learning rate used in this epoch.
    train_loss, train_accuracy : float
        Means over the epoch's mini-batches (with input noise, weights changing during the epoch).
    val_loss, val_accuracy : float
        On the validation split after the epoch (NaN without a validation split).
    n_bumps : int
        Weight-bumping events (one per re-simulated batch).
    n_dropped_grads : int
        Neuron gradients dropped (too large or not finite).
    seconds : float
        Wall-clock duration.
    input_noise_ms : float or None
        Input-time noise SD used in this epoch (None in histories written before it was recorded:
        then the checkpoint's config at the time applied).
    augment_shift_px : int or None
        Image-shift augmentation used in this epoch (None in histories written before it was recorded:
        then there was none).
    ssdp : dict or None
        SSDP statistics per targeted layer (:meth:`.ssdp.SSDP.end_epoch`); None when SSDP was off.
    rewiring : dict or None
        Sparse connectivity: synapses ``removed`` and ``regrown`` in the epoch and the ``active`` count per
        matrix (:meth:`.rewiring.Rewiring.epoch_stats`); None when dense.
    """

    epoch: int
    lr: float
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    n_bumps: int
    n_dropped_grads: int
    seconds: float
    input_noise_ms: float | None = None
    augment_shift_px: int | None = None
    ssdp: dict | None = None
    rewiring: dict | None = None


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :meth:`Trainer.fit`.

    Attributes
    ----------
    config : TrainConfig
    history : tuple of EpochMetrics
        All epochs, including those done before a resume.
    test_loss, test_accuracy : float
        On the dataset's test split with the final weights.
    network : synsem_ephys.sim.Network
        The trained network.
    out_dir : str or None
        Directory with ``checkpoint.pt``, ``network.pt``, ``config.yaml``, ``metrics.json``.
    resumed_from_epoch : int
        Epochs that were already done when this call started (0 for a fresh run).
    """

    config: TrainConfig
    history: tuple
    test_loss: float
    test_accuracy: float
    network: object
    out_dir: str
    resumed_from_epoch: int

    @property
    def final(self):
        """Metrics of the last epoch (None if no epoch was run)."""
        return self.history[-1] if self.history else None


def _checkpoint_config(ck, path):
    """The TrainConfig stored in a loaded checkpoint; DataFormatError if it has none or an invalid one."""
    try:
        return TrainConfig.from_dict(ck.state["config"])
    except (KeyError, TypeError, ConfigError) as exc:
        raise DataFormatError(f"{path}: expected a training checkpoint with a valid config; got {exc}.") from exc


def _check_sizes(full, test, c, *, given, test_given):
    """At least one sample to train on after the validation split and one to test on: else a clear error
    (not a ZeroDivisionError after the first epoch)."""
    n = len(full)
    n_val = 0 if c.val_fraction == 0 else max(1, int(round(c.val_fraction * n)))  # as split_validation
    if n - n_val < 1:
        key, fix = (("train_data", "Pass more samples, or set val_fraction: 0.") if given else
                    ("config key 'train_size'", "Raise train_size, or set val_fraction: 0."))
        raise input_error(key, f"at least {n_val + 1} samples with val_fraction {c.val_fraction} ({n_val} go to "
                          "validation and at least one must be left to train on)", n, fix, cls=ConfigError)
    if len(test) < 1:
        key = "test_data" if test_given else "config key 'test_size'"
        raise input_error(key, "at least one test sample", "none", cls=ConfigError)


def _device(device):
    """``torch.device`` for the ``device`` argument; a clear error for an unknown or unavailable one."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise input_error("device", "a torch device such as 'cpu' or 'cuda'", repr(device)) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise input_error("device", "a device that is available here", repr(device),
                          "torch.cuda.is_available() is False: train on 'cpu'.")
    if dev.type not in ("cpu", "cuda"):
        raise input_error("device", "'cpu' or 'cuda'", repr(device))
    return dev


def _seeds(seed):
    order, noise = np.random.SeedSequence([int(seed), 0x5E5E]).spawn(2)
    return order, int(noise.generate_state(1, np.uint64)[0] >> 1)


def _augment_seed(seed):
    # A stream of its own (not a third spawn of _seeds), so that runs without augmentation keep the
    # batch order and noise of runs made before augmentation existed.
    return int(np.random.SeedSequence([int(seed), 0xA467]).generate_state(1, np.uint64)[0] >> 1)


def _rewire_seed(seed):
    # a stream of its own: dense runs keep the batch order, noise and augmentation they had before
    return int(np.random.SeedSequence([int(seed), 0x5EED]).generate_state(1, np.uint64)[0] >> 1)


def _load_init_network(path, spec, dtype, device):
    """The network of the file ``path`` (config ``init_network``), to train on, and its provenance record."""
    from ..sim import Network
    from .data import idx_md5

    net = Network.load(path, dtype=dtype, device=device)
    if net.spec != spec:
        raise ConfigError(f"config key 'init_network': expected a network with the config's spec {spec}; "
                          f"got {str(path)!r} with {net.spec}.")
    info = {"path": str(path), "md5": idx_md5(path), "extra": net.extra}
    del net.extra  # kept in the record; the trainer's network.pt gets an extra of its own
    return net, info


class Trainer:
    """Train a :class:`synsem_ephys.sim.Network` on a dataset under a :class:`TrainConfig`.

    Parameters
    ----------
    config : TrainConfig
        All options.
    out_dir : str or path-like, optional
        Where checkpoints and results go; None = keep nothing on disk.
    progress : bool
        Show tqdm progress bars (loss and accuracy per batch, validation per epoch).
    train_data, test_data : LabelledData, optional
        Use these instead of loading ``config.dataset`` (their sizes must match the dataset's
        input and class counts).
    device : str or torch.device, optional
        Where weights and data live during training (``"cpu"`` by default, ``"cuda"`` for a GPU). Not
        part of the config: a run may resume on another device. Checkpoints and the network file hold
        CPU tensors; the noise and batch-order generators run on the CPU, so a GPU run draws the same
        batches and noise as a CPU run (its arithmetic differs in the last bits).
    resume_from : str or path-like, optional
        A checkpoint to continue from (as :meth:`load_checkpoint` after construction). Its weights replace
        the initial ones, so the initial balance and calibration are skipped, and a fine-tune
        (``init_network``) whose checkpoint holds the record of its start file does not read that file
        again: it may have moved or changed.
    allow_schedule_change : bool
        Passed to :meth:`load_checkpoint` with ``resume_from``.
    """

    def __init__(self, config, out_dir=None, *, progress=True, train_data=None, test_data=None, device=None,
                 resume_from=None, allow_schedule_change=False):
        from ..sim import Network

        if not isinstance(config, TrainConfig):
            raise input_error("config", "a TrainConfig", type(config).__name__,
                              "Build one with TrainConfig(...) or load_config(path).")
        self.config = c = config
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.progress = bool(progress)
        self.dtype = _DTYPES[c.dtype]
        self.device = _device(device)
        spec = c.network_spec()
        full = train_data if train_data is not None else load_dataset(
            c.dataset, "train", data_dir=c.data_dir, seed=c.data_seed, n_samples=c.train_size)
        test = test_data if test_data is not None else load_dataset(
            c.dataset, "test", data_dir=c.data_dir, seed=c.data_seed, n_samples=c.test_size)
        for name, d in (("train_data", full), ("test_data", test)):
            if not isinstance(d, LabelledData) or d.n_features != spec.n_inputs or d.n_classes != spec.n_outputs:
                got = (d.n_features, d.n_classes) if isinstance(d, LabelledData) else type(d).__name__
                raise input_error(name, f"LabelledData with (n_features, n_classes) = ({spec.n_inputs}, {spec.n_outputs})", got)
        _check_sizes(full, test, c, given=train_data is not None, test_given=test_data is not None)
        self.train_data, self.val_data = split_validation(full, c.val_fraction, c.data_seed)
        self.test_data = test
        self._t = {k: self._encode(d) for k, d in (("train", self.train_data), ("val", self.val_data),
                                                  ("test", self.test_data)) if d is not None}
        order_seq, noise_seed = _seeds(c.seed)
        # a resumed run takes its weights (and a fine-tune its start-file record) from the checkpoint, read once
        # here: the start file and the initial balance and calibration are needed only for a fresh run (and for
        # a fine-tune checkpoint written before the record was kept in it)
        ck = None if resume_from is None else load_checkpoint(resume_from)
        self.init_network = None  # provenance of the starting weights when config.init_network is set
        if c.init_network is not None and (ck is None or "init_network" not in ck.state):
            self.network, self.init_network = _load_init_network(c.init_network, spec, self.dtype, self.device)
        else:
            init = None if c.weight_init_mean is None else tuple(zip(c.weight_init_mean, c.weight_init_std))
            self.network = Network(spec, seed=c.seed, dtype=self.dtype, weight_init=init,
                                   inh_scale=c.weight_init_inh_scale, delay_init=c.delay_init).to(self.device)
        if c.dale:
            self.network.enforce_dale_()
        self.rewiring = None  # sparse connectivity (config sparsity, .rewiring), masks drawn before the calibration
        if c.sparsity is not None:
            steps = c.epochs * math.ceil(self._t["train"][1].shape[0] / c.batch_size)
            self.rewiring = Rewiring(c.sparsity, c.rewire_regrow, [spec.presyn_signs(l) for l in range(spec.n_layers)],
                                     weight_units(spec), l1=c.rewire_l1, every=c.rewire_every,
                                     t_end_steps=None if c.rewire_t_end >= 1.0 else int(round(c.rewire_t_end * steps)),
                                     sign_mode=c.rewire_sign,
                                     seed=_rewire_seed(c.seed), temperature=c.rewire_temperature,
                                     rescale=c.rewire_rescale)
            self.rewiring.init_(self.network.weights)
        if c.init_network is None and ck is None:
            self._init_balance_and_calibrate()
        # the network at initialisation of a fresh run with delays, written by fit (module docstring)
        self._initial = None
        if ck is None and len(self.network.delay_theta):
            import copy

            self._initial = copy.deepcopy(self.network)
        factors = tuple(c.lr_layer_factors or (1.0,) * len(self.network.weights))
        groups = [{"params": [W], "lr": c.lr * f} for W, f in zip(self.network.weights, factors)]
        for theta in self.network.delay_theta.values():  # delays: a group each at lr * delay_lr_factor
            if c.delay_lr_factor > 0:
                groups.append({"params": [theta], "lr": c.lr * c.delay_lr_factor})
                factors += (c.delay_lr_factor,)
            else:
                theta.requires_grad_(False)  # fixed delays
        self._lr_factors = factors
        self.optimizer = torch.optim.Adam(groups, lr=c.lr, betas=c.adam_betas, eps=c.adam_eps)
        self.order_rng = np.random.default_rng(order_seq)
        self.noise_rng = torch.Generator().manual_seed(noise_seed)
        self.augment_rng = torch.Generator().manual_seed(_augment_seed(c.seed))
        # input time of a black pixel shifted into the image: what the latency code gives for 0
        self._black = LatencyCode.from_config(c).zero_ms
        self.history = []
        self.epochs_done = 0
        self._bump_value = c.weight_bump_value
        self.ssdp = None if c.ssdp_variant is None else SSDP(c, len(self.network.weights))
        self.best = None  # (epoch, val_accuracy, [weights]) of the best validation epoch so far
        self.best_masks = None  # with sparsity: the rewiring masks of that epoch
        if ck is not None:
            self._restore(ck, resume_from, allow_schedule_change)

    # ----------------------------------------------------------------------------------- setup
    def _encode(self, data):
        c = self.config
        t = LatencyCode.from_config(c).encode(data.x)
        return (torch.as_tensor(t, dtype=self.dtype, device=self.device),
                torch.as_tensor(data.y, dtype=torch.long, device=self.device))

    @torch.no_grad()
    def _init_balance_and_calibrate(self):
        """E/I balance of the initial inhibitory rows, then firing-fraction calibration (config options)."""
        c, net = self.config, self.network
        if c.dale and c.weight_init_inh_balance is not None:
            balance_inhibition_(net.weights, [net.sign(l) for l in range(len(net.weights))], c.weight_init_inh_balance)
        if c.init_calibrate_fraction is not None:
            t_in = self._t["train"][0][:c.init_calibrate_samples]
            net.calibrate_(t_in, target=c.init_calibrate_fraction)
            if c.init_calibrate_output is not None:
                net.calibrate_(t_in, target=c.init_calibrate_output, layers=[len(net.weights) - 1])

    # ----------------------------------------------------------------------------------- steps
    def _bump(self, outs):
        """Bump the earliest over-silent layer; return True if weights changed."""
        net = self.network
        layer = bump_silent_(net.weights, [net.sign(l) for l in range(len(net.weights))], outs,
                             self.config.silent_fractions, self._bump_value)
        if layer < 0:
            return False
        if self.config.bump_exponential:
            self._bump_value *= 2.0
        if self.config.dale:
            net.enforce_dale_()
        if self.rewiring is not None:  # bumping raises active synapses only
            self.rewiring.constrain_(net.weights)
        return True

    def _params(self):
        """The trained tensors: the weight matrices, then the delay parameters (``net.delay_theta``)."""
        return [*self.network.weights, *self.network.delay_theta.values()]

    def _drop_grads(self):
        alpha = self.config.delay_l2
        learned = [l for l in range(len(self.network.weights))
                   if str(l) in self.network.delay_theta and self.network.delay_theta[str(l)].requires_grad]
        if alpha > 0 and learned:  # L2 delay penalty: its gradient joins the delays' (config delay_l2)
            tau = self.config.tau_syn_ms
            sum((self.network.delays_ms(l) / tau).square().mean() for l in learned).mul(alpha).backward()
        for theta in self.network.delay_theta.values():  # e.g. a spike grazing threshold
            if theta.grad is not None:
                theta.grad[~torch.isfinite(theta.grad)] = 0.0
        return drop_large_gradients_(self.network.weights, self.config.max_grad_per_neuron)

    def train_step(self, t_in, y):
        """One optimisation step on a batch of (already noisy) input times; returns (loss, acc, bumps, dropped)."""
        c = self.config
        bumps = 0
        self._bump_value = c.weight_bump_value
        while True:
            outs = self.network(t_in)
            if c.weight_bump_value == 0 or bumps >= c.max_bump_iterations or not self._bump(outs):
                break
            bumps += 1
        loss = ttfs_loss(outs[-1], y, c.tau_syn_ms, c.xi, c.alpha, c.beta)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        dropped = self._drop_grads()
        if self.rewiring is not None:
            self.rewiring.add_l1_grad_(self.network.weights)
        self.optimizer.step()
        if self.rewiring is not None:  # mask, signs, DEEP R removal and regrowth from this batch's gradients
            self.rewiring.step_(self.network.weights,  # the learning rates scale DEEP R's noise (rewire_temperature)
                                lrs=[g["lr"] for g in self.optimizer.param_groups[:len(self.network.weights)]])
        if self.ssdp is not None:  # spike-synchrony-dependent plasticity from this batch's spikes (.ssdp), after
            # the rewiring (seed003 spec: step, bumping, DEEP R / RigL, W += dW, Dale) on its active synapses
            self.ssdp.apply_(self.network, t_in, outs, masks=None if self.rewiring is None else self.rewiring.masks)
            if self.rewiring is not None:  # the rewiring's fixed signs of free rows hold after SSDP's add too
                self.rewiring.constrain_(self.network.weights)
        if c.dale:
            self.network.enforce_dale_()
        return float(loss.detach()), accuracy(outs[-1].detach(), y), bumps, dropped

    @torch.no_grad()
    def evaluate(self, split="val", *, round_delays_ms="config"):
        """Mean loss and accuracy on ``"train"``, ``"val"`` or ``"test"`` (no noise); NaN if absent.

        ``round_delays_ms``: the grid (ms) the delays are rounded to for this evaluation
        (:attr:`synsem_ephys.sim.Network.round_delays_ms`; None = the continuous delays); default the config's
        ``eval_round_delays_ms``. The network's parameters are not changed."""
        if split not in ("train", "val", "test"):
            raise input_error("split", "one of 'train', 'val', 'test'", repr(split))
        c = self.config
        q = c.eval_round_delays_ms if isinstance(round_delays_ms, str) and round_delays_ms == "config" \
            else round_delays_ms
        if q is not None and not len(self.network.delay_theta):
            raise input_error("round_delays_ms", "None for a network without delays", repr(q))
        if split not in self._t:
            return math.nan, math.nan
        t_all, y_all = self._t[split]
        loss_sum, correct, n = 0.0, 0.0, y_all.shape[0]
        with self.network.rounded_delays(q):
            for i in range(0, n, c.eval_batch_size):
                out = self.network(t_all[i:i + c.eval_batch_size])[-1]
                yb = y_all[i:i + c.eval_batch_size]
                loss_sum += float(ttfs_loss(out, yb, c.tau_syn_ms, c.xi, c.alpha, c.beta, reduction="sum"))
                correct += accuracy(out, yb) * yb.shape[0]
        return loss_sum / n, correct / n

    def train_epoch(self):
        """Run one epoch, append and return its :class:`EpochMetrics` (no checkpoint)."""
        tqdm = require("tqdm.auto", "training progress bars").tqdm

        c = self.config
        start = time.perf_counter()
        lr = c.lr_at_epoch(self.epochs_done)
        for group, f in zip(self.optimizer.param_groups, self._lr_factors):
            group["lr"] = lr * f
        if self.ssdp is not None:
            self.ssdp.begin_epoch(self.epochs_done, self.network.weights)
        t_all, y_all = self._t["train"]
        order = torch.as_tensor(self.order_rng.permutation(y_all.shape[0]), device=self.device)
        n_batches = math.ceil(y_all.shape[0] / c.batch_size)
        loss_sum = acc_sum = 0.0
        bumps = dropped = 0
        bar = tqdm(total=n_batches, desc=f"epoch {self.epochs_done + 1}/{c.epochs}", leave=False,
                   disable=not self.progress, unit="batch")
        try:
            for b in range(n_batches):
                idx = order[b * c.batch_size:(b + 1) * c.batch_size]
                t_in = t_all[idx]
                if c.augment_shift_px:
                    t_in = shift_images(t_in, IMAGE_SHAPES[c.dataset], c.augment_shift_px, self.augment_rng,
                                        self._black)
                t_in = jitter_times(t_in, c.input_noise_ms, self.noise_rng)
                loss, acc, nb, nd = self.train_step(t_in, y_all[idx])
                loss_sum += loss * idx.shape[0]
                acc_sum += acc * idx.shape[0]
                bumps += nb
                dropped += nd
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.3f}", refresh=False)
        finally:
            bar.close()
        val_loss, val_acc = self.evaluate("val")
        self.epochs_done += 1
        m = EpochMetrics(self.epochs_done, lr, loss_sum / y_all.shape[0], acc_sum / y_all.shape[0], val_loss,
                         val_acc, bumps, dropped, time.perf_counter() - start, float(c.input_noise_ms),
                         c.augment_shift_px, None if self.ssdp is None else self.ssdp.end_epoch())
        if self.rewiring is not None:
            m = replace(m, rewiring=self.rewiring.epoch_stats())
        self.history.append(m)
        if math.isfinite(val_acc) and (self.best is None or val_acc > self.best[1]):
            self.best = (self.epochs_done, val_acc, [W.detach().clone() for W in self._params()])
            if self.rewiring is not None:  # the best epoch's connectivity goes with its weights
                self.best_masks = [m.clone() for m in self.rewiring.masks]
        return m

    # ----------------------------------------------------------------------------------- state
    def state_dict(self):
        """Everything needed to continue exactly: (tensors, state, optimizer, torch_rng)."""
        torch_rng, numpy_rng = rng_state({"noise": self.noise_rng, "augment": self.augment_rng},
                                         {"order": self.order_rng})
        tensors = {f"weights.{i}": W.detach() for i, W in enumerate(self.network.weights)}
        tensors.update({f"delays.{k}": v.detach() for k, v in self.network.delay_theta.items()})
        state = {"epochs_done": self.epochs_done, "history": [asdict(m) for m in self.history],
                 "config": self.config.to_dict(), "numpy_rng": numpy_rng}
        if self.init_network is not None:
            state["init_network"] = self.init_network
        if self.best is not None:
            tensors.update({f"best.{i}": W for i, W in enumerate(self.best[2])})
            state["best"] = {"epoch": self.best[0], "val_accuracy": self.best[1]}
            if self.best_masks is not None:
                tensors.update({f"best.mask.{l}": m for l, m in enumerate(self.best_masks)})
        if self.ssdp is not None:
            state["ssdp"] = self.ssdp.state()
        if self.rewiring is not None:
            rw_tensors, state["rewiring"], torch_rng["rewire"] = self.rewiring.state()
            tensors.update(rw_tensors)
        return tensors, state, self.optimizer.state_dict(), torch_rng

    def save_checkpoint(self, path=None):
        """Write the checkpoint atomically (default ``<out_dir>/checkpoint.pt``)."""
        if path is None:
            if self.out_dir is None:
                raise input_error("path", "a file path (the trainer has no out_dir)", None)
            path = self.out_dir / CHECKPOINT_NAME
        tensors, state, opt, trng = self.state_dict()
        return save_checkpoint(path, tensors=tensors, state=state, optimizer=opt, torch_rng=trng)

    def load_checkpoint(self, path, *, allow_schedule_change=False):
        """Restore weights, optimizer, RNGs, epoch counter and history from ``path``.

        The checkpoint's config must equal this trainer's config except for ``epochs`` and
        ``keep_best`` (neither changes the training trajectory). With ``allow_schedule_change`` the
        learning-rate schedule and the input-time noise (:data:`SCHEDULE_FIELDS`) may change too: the
        remaining epochs use the new values (``lr_at_epoch`` of the new config, counted from the run's
        first epoch), the history keeps the rate and noise each epoch used, and the run is no longer
        bit-identical to an uninterrupted one.
        """
        return self._restore(load_checkpoint(path), path, allow_schedule_change)

    def _restore(self, ck, path, allow_schedule_change):
        """:meth:`load_checkpoint` of the checkpoint ``ck`` read from ``path``."""
        saved = _checkpoint_config(ck, path)
        free = ("epochs", "keep_best") + (SCHEDULE_FIELDS if allow_schedule_change else ())
        diff = [k for k in saved.to_dict() if k not in free and getattr(saved, k) != getattr(self.config, k)]
        if diff:
            detail = ", ".join(f"{k}: checkpoint {getattr(saved, k)!r} vs now {getattr(self.config, k)!r}" for k in diff)
            hint = "" if allow_schedule_change or not set(diff) <= set(SCHEDULE_FIELDS) else (
                " To continue with a new learning-rate schedule or input noise, pass allow_schedule_change=True "
                "(--allow-schedule-change).")
            raise ConfigError(f"resume: expected the checkpoint's config (only {', '.join(map(repr, free))} may change); "
                              f"got differences in {detail}. Resume with the original config or start a new out_dir."
                              + hint)
        with torch.no_grad():
            for i, W in enumerate(self.network.weights):
                W.copy_(ck.tensors[f"weights.{i}"])
            for k, v in self.network.delay_theta.items():
                v.copy_(ck.tensors[f"delays.{k}"])
        self.optimizer.load_state_dict(ck.optimizer)
        # checkpoints written before image-shift augmentation existed hold no "augment" stream: it then
        # starts from its seed
        gens = {"noise": self.noise_rng, **({"augment": self.augment_rng} if "augment" in ck.torch_rng else {})}
        restore_rng(ck.torch_rng, ck.state["numpy_rng"], gens, {"order": self.order_rng})
        if self.rewiring is not None:
            self.rewiring.load_state(ck.tensors, ck.state["rewiring"], ck.torch_rng["rewire"], self.device)
        self.epochs_done = int(ck.state["epochs_done"])
        if "init_network" in ck.state:  # the record of the file the run started from, not of that path today
            self.init_network = ck.state["init_network"]
        self.history = [EpochMetrics(**m) for m in ck.state["history"]]
        best = ck.state.get("best")  # absent in checkpoints written before best-epoch tracking
        if self.ssdp is not None:
            self.ssdp.load_state(ck.state.get("ssdp"))
        self.best = None if best is None else (int(best["epoch"]), float(best["val_accuracy"]),
                                               [ck.tensors[f"best.{i}"].clone() for i in range(len(self._params()))])
        # masks of the best epoch (checkpoints written before they were kept have none: the last epoch's stay)
        self.best_masks = None if best is None or self.rewiring is None or "best.mask.0" not in ck.tensors else \
            [ck.tensors[f"best.mask.{l}"].to(torch.bool).to(self.device).clone() for l in range(len(self.network.weights))]
        return self.epochs_done

    # ----------------------------------------------------------------------------------- loop
    def fit(self):
        """Train until ``config.epochs`` epochs are done, checkpointing after each; return a :class:`TrainResult`."""
        tqdm = require("tqdm.auto", "training progress bars").tqdm

        c = self.config
        start_epoch = self.epochs_done
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            c.to_yaml(self.out_dir / "config.yaml")
            if start_epoch == 0 and self._initial is not None:
                self._initial.save(self.out_dir / INITIAL_NETWORK_NAME,
                                   extra={"config": c.to_dict(), "initial_of": NETWORK_NAME, "epochs_done": 0})
        bar = tqdm(total=c.epochs, initial=min(start_epoch, c.epochs), desc="training", unit="epoch",
                   disable=not self.progress)
        try:
            while self.epochs_done < c.epochs:
                m = self.train_epoch()
                if self.out_dir is not None:
                    self.save_checkpoint()
                bar.update(1)
                bar.set_postfix(loss=f"{m.train_loss:.4f}", acc=f"{m.train_accuracy:.3f}",
                                val_acc=f"{m.val_accuracy:.3f}")
        finally:
            bar.close()
        selected = self.epochs_done
        if c.keep_best and self.best is not None:
            selected = self.best[0]
            with torch.no_grad():
                for W, B in zip(self._params(), self.best[2]):
                    W.copy_(B)
            if self.best_masks is not None:  # and its connectivity: the masks match the weights kept
                self.rewiring.masks = [m.clone() for m in self.best_masks]
        test_loss, test_acc = self.evaluate("test")
        if self.out_dir is not None:
            summary = {"history": [asdict(m) for m in self.history], "test_loss": test_loss,
                       "test_accuracy": test_acc, "resumed_from_epoch": start_epoch, "selected_epoch": selected}
            extra = {"config": c.to_dict(), "test_loss": test_loss, "test_accuracy": test_acc,
                     "epochs_done": self.epochs_done, "selected_epoch": selected}
            if self.init_network is not None:
                extra["init_network"] = self.init_network
            init_path = self.out_dir / INITIAL_NETWORK_NAME
            if len(self.network.delay_theta) and init_path.is_file():  # written at the start of this run
                from .data import idx_md5

                extra["initial_network_file"] = {"path": INITIAL_NETWORK_NAME, "md5": idx_md5(init_path)}
            self.network.save(self.out_dir / NETWORK_NAME, extra=extra)
            write_text_atomic(self.out_dir / "metrics.json", json_dumps(summary, indent=1))
        return TrainResult(c, tuple(self.history), test_loss, test_acc, self.network,
                           None if self.out_dir is None else str(self.out_dir), start_epoch)


def train_from_config(config, out_dir, resume=False, progress=True, allow_schedule_change=False, device=None):
    """Train a network as configured, writing checkpoints and results to ``out_dir``.

    Parameters
    ----------
    config : TrainConfig, dict, or str / path-like
        A config object, a mapping of its fields, a YAML file, or a bundled config name
        (``"mnist_dale"``, ``"yinyang"``).
    out_dir : str or path-like
        Output directory (created): ``checkpoint.pt`` after every epoch, then ``network.pt``,
        ``config.yaml`` and ``metrics.json``.
    resume : bool
        Continue from ``<out_dir>/checkpoint.pt`` exactly (same config; ``epochs`` may be raised).
        Without a checkpoint the run starts from scratch.
    progress : bool
        Show tqdm progress bars.
    allow_schedule_change : bool
        With ``resume``: the config may also change the learning-rate schedule (``lr``,
        ``lr_step_epochs``, ``lr_gamma``) and the input-time noise (``input_noise_ms``) for the
        remaining epochs (see :meth:`Trainer.load_checkpoint`).
    device : str or torch.device, optional
        ``"cpu"`` (default) or ``"cuda"``; a checkpoint written on one may be resumed on the other.

    Returns
    -------
    TrainResult

    Raises
    ------
    FileExistsError
        ``out_dir`` already holds a checkpoint and ``resume`` is False.
    ConfigError
        Invalid config, or a resume with a config that differs from the checkpoint's.
    """
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    elif not isinstance(config, TrainConfig):
        config = load_config(config)
    out_dir = Path(out_dir)
    ck = out_dir / CHECKPOINT_NAME
    if ck.exists() and not resume:
        raise FileExistsError(
            f"out_dir: expected a directory without a checkpoint for a fresh run; got {str(out_dir)!r} holding "
            f"{CHECKPOINT_NAME}. Pass resume=True (--resume) to continue it, or choose another out_dir."
        )
    trainer = Trainer(config, out_dir, progress=progress, device=device, resume_from=ck if resume and ck.exists() else None,
                      allow_schedule_change=allow_schedule_change)
    return trainer.fit()


def network_from_checkpoint(path, *, best=False, dtype=torch.float64):
    """The network of a training checkpoint (e.g. a stage of a run that continues with ``--resume``).

    Parameters
    ----------
    path : str or path-like
        A ``checkpoint.pt`` written by the trainer.
    best : bool
        Take the best validation epoch's weights instead of the last epoch's (checkpoints written
        before best-epoch tracking have none: ``DataFormatError``).
    dtype : torch.dtype
        Of the returned network (float64 by default, whatever the training dtype was).

    Returns
    -------
    synsem_ephys.sim.Network
        With ``extra`` = ``{"config", "epochs_done", "selected_epoch", "val_accuracy"}`` (no test
        accuracy: a checkpoint has not been tested); ``net.save(path, extra=net.extra)`` writes a
        file that ``synsem-ephys demo --network`` accepts.
    """
    from ..sim import Network

    ck = load_checkpoint(path)
    cfg = _checkpoint_config(ck, path)
    try:
        history, done = ck.state["history"], int(ck.state["epochs_done"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFormatError(f"{path}: expected a training checkpoint with its history; got {exc!r}.") from exc
    prefix, epoch = "weights", done
    if best:
        if "best" not in ck.state:
            raise DataFormatError(f"path: expected best-epoch weights (best=True); {path} was written without them.")
        prefix, epoch = "best", int(ck.state["best"]["epoch"])
    net = Network(cfg.network_spec(), dtype=dtype)
    with torch.no_grad():
        for i, W in enumerate(net.weights):
            W.copy_(ck.tensors[f"{prefix}.{i}"].to(dtype))
        for j, (k, v) in enumerate(net.delay_theta.items()):  # best: stored after the weights
            v.copy_(ck.tensors[f"best.{len(net.weights) + j}" if best else f"delays.{k}"].to(dtype))
    val = history[epoch - 1]["val_accuracy"] if 0 < epoch <= len(history) else math.nan
    net.extra = {"config": cfg.to_dict(), "epochs_done": done, "selected_epoch": epoch, "val_accuracy": val}
    return net


def initial_network(path, *, network=None, dtype=torch.float64):
    """The network at initialisation of the trained network file ``path`` (module docstring), or None.

    ``path``: a ``network.pt`` written by the trainer; ``network``: that file already loaded (``Network.load(path)``,
    whose ``extra`` names the initial network), else it is read. Returns None when the file names no initial network
    (networks without delays, files written before it was kept). The named file (beside ``path``) must exist, match
    the md5 recorded and have the same spec.

    Raises
    ------
    DataMissingError
        The named initial network is not beside ``path``.
    DataFormatError
        Its md5 or spec differs from what ``path`` records (another run's file, or a changed one).
    """
    from ..errors import DataMissingError
    from ..sim import Network
    from .data import idx_md5

    path = Path(path)
    net = Network.load(path) if network is None else network
    if not isinstance(net, Network):
        raise input_error("network", "the Network loaded from path (Network.load)", type(net).__name__)
    ref = (getattr(net, "extra", None) or {}).get("initial_network_file")
    if ref is None:
        return None
    if not (isinstance(ref, dict) and isinstance(ref.get("path"), str) and isinstance(ref.get("md5"), str)):
        raise DataFormatError(f"{path}: expected extra['initial_network_file'] = {{'path': str, 'md5': str}}; got {ref!r}.")
    init_path = path.parent / ref["path"]
    if not init_path.is_file():
        raise DataMissingError(f"{path}: its network at initialisation {str(init_path)!r} (extra['initial_network_file'])"
                               " does not exist; copy it beside the network file, or leave the initial null out.")
    md5 = idx_md5(init_path)
    if md5 != ref["md5"]:
        raise DataFormatError(f"{init_path}: expected the network at initialisation that {path} records (md5 "
                              f"{ref['md5']}); got a file with md5 {md5} (another run's, or changed).")
    init = Network.load(init_path, dtype=dtype)
    if init.spec != net.spec:
        raise DataFormatError(f"{init_path}: expected the spec of {path}; got {init.spec}.")
    return init


def initial_null(init, source):
    """The report's ``initial=`` argument (the E/I structure's third null, see :func:`synsem_ephys.report.write_report`)
    from ``init``, a network at initialisation (:func:`initial_network` or ``Network.load``); ``source``: where it came
    from (a path, shown in the report)."""
    return {"weights": init.weights_numpy()[0], "delays": init.delays_numpy(), "source": str(source)}
