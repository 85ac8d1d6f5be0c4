r"""What keeps a deep TTFS network trainable: bumping silent layers, dropping bad gradients, E/I balance.

Pure functions of weights (lists of ``(n_in, n_out)`` tensors, modified in place where said), presynaptic
signs (+1 E, -1 I, 0 unconstrained) and layer outputs; the :class:`~synsem_ephys.train.trainer.Trainer`
calls them with its config.

Weight bumping (Göltz et al. 2021): the earliest layer ``l`` whose fraction of silent (sample, neuron)
pairs exceeds ``silent_fractions[l]`` gets, for each of its neurons silent in more than that fraction of
the batch, ``W_l[rows, n] += value`` where ``rows`` are the non-inhibitory presynaptic rows (adding to an
inhibitory row would weaken inhibition and, after the Dale clamp, erase it).

Gradient dropping: a column (postsynaptic neuron) whose gradient norm is not finite, or exceeds
``max_norm``, gets a zero gradient.

E/I balance at initialisation: per weight matrix, the inhibitory rows are scaled so that the mean summed
inhibitory weight onto a neuron is ``balance`` times the mean summed excitatory one.
"""

import torch

__all__ = ["bump_silent_", "drop_large_gradients_", "balance_inhibition_"]


@torch.no_grad()
def bump_silent_(weights, signs, outputs, silent_fractions, value):
    """Bump the earliest over-silent layer (see the module docstring); return its index, or -1 if none.

    Parameters
    ----------
    weights : list of torch.Tensor (n_in, n_out)
        Modified in place.
    signs : list of torch.Tensor (n_in,)
        Presynaptic signs per matrix.
    outputs : list of torch.Tensor (batch, n_out)
        Spike times of each layer (``+inf`` = silent), one per weight matrix.
    silent_fractions : sequence of float
        Tolerated silent fraction per layer.
    value : float
        Amount added to each bumped weight.
    """
    for layer, out in enumerate(outputs):
        limit = silent_fractions[layer]
        silent = torch.isinf(out).to(torch.float64)
        if float(silent.mean()) <= limit:
            continue
        neurons = silent.mean(dim=0) > limit
        if not bool(neurons.any()):
            continue
        rows = signs[layer] >= 0
        weights[layer][rows[:, None] & neurons[None, :]] += value
        return layer
    return -1


@torch.no_grad()
def drop_large_gradients_(weights, max_norm=None):
    """Zero the gradient columns with a non-finite norm or one above ``max_norm``; return how many."""
    dropped = 0
    for W in weights:
        if W.grad is None:
            continue
        norms = W.grad.norm(dim=0)
        bad = ~torch.isfinite(norms)
        if max_norm is not None:
            bad |= norms > max_norm
        if bool(bad.any()):
            W.grad[:, bad] = 0.0
            dropped += int(bad.sum())
    return dropped


@torch.no_grad()
def balance_inhibition_(weights, signs, balance):
    """Scale each matrix's inhibitory rows to ``balance[l]`` times its excitatory drive (in place).

    ``balance`` is one float or one per matrix; matrices without E or without I rows are left alone.
    """
    if isinstance(balance, (int, float)):
        balance = (float(balance),) * len(weights)
    for layer, W in enumerate(weights):
        s = signs[layer]
        if int((s > 0).sum()) == 0 or int((s < 0).sum()) == 0:
            continue
        exc, inh = W[s > 0].sum(dim=0).mean(), -W[s < 0].sum(dim=0).mean()
        if float(inh) > 0:
            W[s < 0] *= balance[layer] * exc / inh
