"""The decision of a time-to-first-spike network: the class of the earliest output spike.

``predict(t_out)[b] = argmin_k t_out[b, k]``, and ``-1`` where no output spiked (every time ``+inf``;
NaN counts as no spike). Ties go to the lowest output index (``argmin``'s first minimum). The decision
time is ``min_k t_out[b, k]`` (``+inf`` without an output spike). This is the one rule used by the loss's
accuracy, :meth:`synsem_ephys.sim.Network.predict`, the recordings' ``prediction`` column and the
adapters of published networks.

Both functions take numpy arrays or torch tensors (torch is imported only when a tensor is passed).
"""

import numpy as np

from .errors import input_error

__all__ = ["predict", "decision_time"]


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def predict(t_out):
    """Index of the earliest output spike per sample, ``-1`` where no output spiked.

    Parameters
    ----------
    t_out : torch.Tensor or numpy.ndarray
        Output spike times, shape ``(batch, n_out)``.

    Returns
    -------
    Same type as the input, int64, shape ``(batch,)``.
    """
    if _is_torch(t_out):
        import torch

        pred = torch.argmin(torch.nan_to_num(t_out, nan=float("inf")), dim=1)
        return torch.where(torch.isfinite(t_out).any(dim=1), pred, torch.full_like(pred, -1))
    t = np.asarray(t_out, dtype=np.float64)
    if t.ndim != 2:
        raise input_error("t_out", "an array of shape (batch, n_out)", t.shape)
    if t.shape[1] == 0:
        return np.full(t.shape[0], -1, dtype=np.int64)
    pred = np.argmin(np.nan_to_num(t, nan=np.inf), axis=1).astype(np.int64)
    return np.where(np.isfinite(t).any(axis=1), pred, -1)


def decision_time(t_out):
    """Time of the earliest output spike per sample (``+inf`` where none), numpy float64 of shape (batch,)."""
    t = np.asarray(t_out.detach().cpu().numpy() if _is_torch(t_out) else t_out, dtype=np.float64)
    if t.ndim != 2:
        raise input_error("t_out", "an array of shape (batch, n_out)", t.shape)
    if t.shape[1] == 0:
        return np.full(t.shape[0], np.inf)
    return np.where(np.isnan(t), np.inf, t).min(axis=1)
