"""The stabilisers as pure functions, against hand-computed cases (no Trainer needed)."""

import math

import pytest
import torch

from synsem_ephys.train.stabilisers import balance_inhibition_, bump_silent_, drop_large_gradients_

INF = math.inf


def test_bump_adds_to_the_non_inhibitory_rows_of_the_earliest_over_silent_layer_only():
    w0 = torch.zeros(3, 2, dtype=torch.float64)
    w1 = torch.zeros(2, 2, dtype=torch.float64)
    signs = [torch.tensor([1, -1, 0]), torch.tensor([1, -1])]
    out0 = torch.tensor([[INF, 1.0], [INF, 2.0]])  # neuron 0 always silent, neuron 1 never
    out1 = torch.full((2, 2), INF)                   # all silent, but a later layer
    layer = bump_silent_([w0, w1], signs, [out0, out1], silent_fractions=(0.25, 0.25), value=0.5)
    assert layer == 0
    assert w0.tolist() == [[0.5, 0.0], [0.0, 0.0], [0.5, 0.0]]  # E and unconstrained rows, silent column
    assert torch.count_nonzero(w1) == 0


def test_bump_returns_minus_one_when_no_layer_is_too_silent():
    w = torch.zeros(2, 2, dtype=torch.float64)
    out = torch.tensor([[INF, 1.0], [2.0, 1.0]])     # silent fraction 0.25
    assert bump_silent_([w], [torch.tensor([1, 1])], [out], (0.25,), 1.0) == -1
    assert torch.count_nonzero(w) == 0


def test_drop_large_gradients_zeroes_whole_columns():
    w = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    w.grad = torch.tensor([[1.0, 10.0, math.nan], [0.0, 0.0, 0.0]], dtype=torch.float64)
    assert drop_large_gradients_([w], max_norm=5.0) == 2
    assert w.grad.tolist()[0][:2] == [1.0, 0.0] and w.grad[0, 2].item() == 0.0
    w.grad = torch.tensor([[1.0, 10.0, math.inf], [0.0, 0.0, 0.0]], dtype=torch.float64)
    assert drop_large_gradients_([w], max_norm=None) == 1  # only the non-finite column


def test_balance_inhibition_scales_inhibitory_rows_to_the_asked_ratio():
    w = torch.tensor([[1.0, 3.0], [-4.0, -4.0]], dtype=torch.float64)  # exc drive 2 on average, inh 4
    balance_inhibition_([w], [torch.tensor([1, -1])], 0.5)
    exc, inh = w[0].mean(), -w[1].mean()
    assert inh.item() == pytest.approx(0.5 * exc.item())
    assert w[0].tolist() == [1.0, 3.0]
