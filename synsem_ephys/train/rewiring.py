r"""Sparse connectivity under Dale's law: a fixed random mask, or DEEP R removal with RigL / random regrowth.

Parametrisation of weight matrix ``l`` (shape ``(n_pre, n_post)``, ``N_l`` entries)::

    W = s * theta * m,    s in {+1, -1} fixed,  theta >= 0,  m in {0, 1},  sum(m) = K_l = round((1 - p_l) N_l)

* ``s``: under Dale's law, for the rows of a population with a sign (``presyn_signs`` +1 E / -1 I), the
  presynaptic sign; for free rows (the input matrix, or every row without Dale's law) either the sign of the
  initial weight, per synapse (``sign_mode="init"``), or one random sign per presynaptic unit, ~50:50
  (``"presynaptic"``, Mészáros et al. 2024's Dale's law on the inputs).
* ``theta`` is not stored apart: ``theta = s * W`` (``W`` stays the network's parameter; Adam is equivariant
  to flipping the sign of a coordinate, so a step on ``W`` is the step on ``theta``).
* ``m``: the active synapses, ``K_l`` of them at every step (exact).

At the start (:meth:`Rewiring.init_`): ``K_l`` entries of each matrix drawn uniformly at random (the
rewiring's own generator) are active; ``W <- s * |W| * m`` (with a fixed mask ``W <- W * m``, signs free),
divided by ``1 - p_l`` with ``rescale`` (the summed drive onto a unit kept in expectation; off by default, in
the trainer the config's ``rewire_rescale``: in a time-to-first-spike network single synapses that strong reach
threshold alone, which at the highest sparsities is what lets a unit with one or two synapses fire at all).

Every training step, after the optimiser step (and Dale's clamp), :meth:`Rewiring.step_`:

0. with a temperature ``T > 0`` (DEEP R's Langevin noise, Bellec et al. 2018; Mészáros et al. use ``T = 0``) and
   while ``step < t_end_steps``: ``theta <- theta + sqrt(2 eta_l T u_l) nu`` on the active synapses, ``nu ~ N(0, 1)``
   from the rewiring's generator, ``eta_l`` the matrix's learning rate of the step (``lrs``) and ``u_l`` its weight
   unit (below): DEEP R's ``sqrt(2 eta T) nu`` for the magnitude in units of ``u_l``, so ``T`` is in the units of
   the loss, as ``l1``. ``T = 0`` draws nothing (the run is bit-identical to one without the option);
1. ``W <- W * m`` (a dormant synapse stays 0 whatever its gradient or weight bumping did);
2. with rewiring: ``theta = max(s * W, 0)``, ``W <- s * theta`` (a sign never changes);
3. on a rewiring step (every ``every``-th step, while ``step < t_end_steps``), DEEP R removal: the active
   synapses with ``theta <= 0`` become dormant; then ``n_re = K_l - sum(m)`` dormant synapses are regrown
   with ``theta = epsilon`` (1e-12), chosen by ``regrow``:

   - ``"rigl_signed"`` (Mészáros et al. 2024): the most negative ``dL/dtheta = s * dL/dW`` of the batch,
     where raising the magnitude in the synapse's sign lowers the loss fastest;
   - ``"rigl_abs"`` (Evci et al. 2020, RigL): the largest ``|dL/dW|``;
   - ``"random"`` (Bellec et al. 2018, DEEP R): uniformly among the dormant;

   ties go to the lowest flat index (row-major). A synapse removed in this step may be regrown at once.

``regrow=None`` is a fixed mask (step 1 only). L1 pressure on the magnitudes (:meth:`Rewiring.add_l1_grad_`,
before the optimiser step): ``lambda_l * sum(theta * m)`` added to the loss, i.e. ``lambda_l * s * m`` added to
``dL/dW``, with ``lambda_l = l1 / u_l`` and ``u_l = threshold / (K_peak * n_pre)`` the matrix's weight unit (the
simulator's initialisation unit), so ``l1`` is comparable between layers and networks. Weight bumping acts
on active synapses only (:meth:`Rewiring.constrain_` after each bump).

References: Bellec, Kappel, Maass & Legenstein (2018) DEEP R, ICLR; Evci, Gale, Menick, Castro & Elsen (2020)
RigL, ICML; Mészáros, Knight & Nowotny (2024) Front. Comput. Neurosci. 18:1460309.
"""

import math

import torch

from ..errors import input_error

__all__ = ["Rewiring", "REGROW", "SIGN_MODES", "MAX_SPARSITY", "EPSILON", "active_count", "regrow_choice",
           "weight_units"]

#: regrowth criteria (``None``: a fixed mask)
REGROW = ("rigl_signed", "rigl_abs", "random")
#: signs of free rows: the initial weight's per synapse, or a random one per presynaptic unit
SIGN_MODES = ("init", "presynaptic")
#: the densest-to-sparsest levels are p = 1 - 2^-k; the sparsest allowed is k = 9
MAX_SPARSITY = 1 - 2.0 ** -9
#: magnitude of a regrown synapse (Mészáros et al. 2024)
EPSILON = 1e-12


def active_count(sparsity, n):
    """``K = round((1 - p) n)`` active synapses of a matrix of ``n`` entries at sparsity ``p``."""
    return int(round((1.0 - float(sparsity)) * n))


def regrow_choice(grad, mask, signs, n, criterion, generator=None):
    """Flat indices of the ``n`` dormant synapses to regrow (see the module docstring).

    Parameters
    ----------
    grad : torch.Tensor (n_pre, n_post)
        ``dL/dW`` of the batch (dense; unused by ``"random"``).
    mask : torch.Tensor of bool (n_pre, n_post)
        Active synapses; only the others can be chosen.
    signs : torch.Tensor (n_pre, n_post)
        The fixed signs ``s`` (+1 / -1).
    n : int
        How many (at most the number of dormant synapses).
    criterion : {"rigl_signed", "rigl_abs", "random"}
    generator : torch.Generator
        For ``"random"``.

    Returns
    -------
    torch.Tensor of int64, shape (n,)
    """
    dormant = torch.nonzero(~mask.reshape(-1)).reshape(-1)
    if n > dormant.numel():
        raise input_error("n", f"at most the {dormant.numel()} dormant synapses", n)
    if n == 0:
        return dormant[:0]
    if criterion == "random":
        return dormant[torch.randperm(dormant.numel(), generator=generator)[:n].to(dormant.device)]
    g = grad.reshape(-1)[dormant].to(torch.float64)
    g = torch.where(torch.isfinite(g), g, torch.zeros_like(g))  # a non-finite gradient chooses nothing
    if criterion == "rigl_signed":
        score = signs.reshape(-1)[dormant].to(torch.float64) * g  # ascending: most negative dL/dtheta first
    elif criterion == "rigl_abs":
        score = -g.abs()
    else:
        raise input_error("criterion", f"one of {list(REGROW)}", repr(criterion))
    return dormant[torch.sort(score, stable=True).indices[:n]]


class Rewiring:
    """Masks, fixed signs, counters and the random stream of a sparse network's connectivity.

    Parameters
    ----------
    sparsity : sequence of float
        Per weight matrix, ``p_l`` in ``[0, MAX_SPARSITY]``; ``K_l = round((1 - p_l) N_l) >= 1``.
    regrow : {"rigl_signed", "rigl_abs", "random"} or None
        Regrowth criterion; None = a fixed mask (no removal, no regrowth, signs free).
    presyn_signs : sequence of sequence of int
        Per matrix the presynaptic signs (+1 E, -1 I, 0 free; :meth:`NetworkSpec.presyn_signs`).
    units : sequence of float
        Per matrix the weight unit ``u_l`` of the L1 coefficient (``threshold / (K_peak n_pre)``).
    l1 : float
        L1 coefficient in units of ``1 / u_l`` (0 = none).
    every : int
        Rewire every ``every``-th step (1 = every batch, as Mészáros et al.; RigL: 100).
    t_end_steps : int or None
        No removal or regrowth from this step on (None = never stop).
    sign_mode : {"init", "presynaptic"}
        Signs of free rows.
    seed : int
        Seed of the rewiring's generator (initial masks, presynaptic signs, random regrowth).
    rescale : bool
        Divide the initial active weights by ``1 - p_l`` (default False).
    temperature : float
        DEEP R's Langevin temperature ``T >= 0`` (step 0 of the module docstring; 0 = none). Needs ``regrow``.
    """

    def __init__(self, sparsity, regrow, presyn_signs, units, *, l1=0.0, every=1, t_end_steps=None,
                 sign_mode="init", seed=0, rescale=False, temperature=0.0):
        if regrow is not None and regrow not in REGROW:
            raise input_error("regrow", f"None or one of {list(REGROW)}", repr(regrow))
        if sign_mode not in SIGN_MODES:
            raise input_error("sign_mode", f"one of {list(SIGN_MODES)}", repr(sign_mode))
        if len(sparsity) != len(presyn_signs) or len(units) != len(presyn_signs):
            raise input_error("sparsity", f"one value per weight matrix ({len(presyn_signs)})", list(sparsity))
        for p in sparsity:
            if not (0.0 <= float(p) <= MAX_SPARSITY):
                raise input_error("sparsity", f"fractions in [0, {MAX_SPARSITY}] (1 - 2^-9)", list(sparsity))
        if int(every) < 1:
            raise input_error("every", "an integer >= 1", every)
        if not (math.isfinite(float(temperature)) and float(temperature) >= 0):
            raise input_error("temperature", "a finite temperature >= 0", temperature)
        if float(temperature) > 0 and regrow is None:
            raise input_error("temperature", "0 with a fixed mask (regrow None: no removal, signs free)", temperature,
                              "Choose a regrowth criterion, or set the temperature to 0.")
        self.sparsity = tuple(float(p) for p in sparsity)
        self.regrow = regrow
        self.presyn = [torch.as_tensor(list(s), dtype=torch.int8) for s in presyn_signs]
        self.l1_coef = tuple(float(l1) / float(u) for u in units)
        self.units, self.temperature = tuple(float(u) for u in units), float(temperature)
        self.every, self.t_end_steps = int(every), t_end_steps
        self.sign_mode, self.rescale = sign_mode, bool(rescale)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.masks, self.signs, self.k_active = None, None, None
        self.step = 0
        self.removed = self.regrown = 0  # since the last epoch_stats()

    # ------------------------------------------------------------------------------- setup
    @torch.no_grad()
    def init_(self, weights):
        """Draw the masks (and free signs), apply them to ``weights`` (in place); returns self."""
        g = self.generator
        self.masks, self.signs, self.k_active = [], [], []
        for l, W in enumerate(weights):
            n_pre, n_post = W.shape
            if self.presyn[l].numel() != n_pre:
                raise input_error(f"weights[{l}]", f"{self.presyn[l].numel()} rows (presynaptic units)", tuple(W.shape))
            k = active_count(self.sparsity[l], W.numel())
            if k < 1:
                raise input_error("sparsity", f"at least one active synapse in matrix {l} ({W.numel()} entries)",
                                  self.sparsity[l], "Lower the sparsity of this matrix.")
            flat = torch.zeros(W.numel(), dtype=torch.bool)
            flat[torch.randperm(W.numel(), generator=g)[:k]] = True
            m = flat.reshape(n_pre, n_post).to(W.device)
            pre = self.presyn[l].to(W.device)
            if self.sign_mode == "presynaptic":
                free = torch.where(torch.rand(n_pre, generator=g) < 0.5, 1, -1).to(torch.int8).to(W.device)
                row = torch.where(pre != 0, pre, free)[:, None].expand(n_pre, n_post)
            else:
                init = torch.where(W >= 0, 1, -1).to(torch.int8)
                row = torch.where(pre[:, None] != 0, pre[:, None].expand(n_pre, n_post), init)
            s = row.to(torch.int8).contiguous()
            scale = 1.0 / (1.0 - self.sparsity[l]) if self.rescale else 1.0
            if self.regrow is None:
                W.copy_(W * m * scale)
            else:
                W.copy_(s.to(W.dtype) * W.abs() * m * scale)
            self.masks.append(m)
            self.signs.append(s)
            self.k_active.append(k)
        return self

    # ------------------------------------------------------------------------------- per step
    @torch.no_grad()
    def add_l1_grad_(self, weights):
        """``dL/dW += lambda_l * s * m`` (the gradient of ``lambda_l * sum(theta * m)``), before the step."""
        for l, W in enumerate(weights):
            lam = self.l1_coef[l]
            if lam == 0.0 or W.grad is None:
                continue
            W.grad.add_(lam * self.signs[l].to(W.dtype) * self.masks[l])

    @torch.no_grad()
    def constrain_(self, weights):
        """Steps 1-2 of the module docstring: dormant synapses to 0, signs kept (in place)."""
        for l, W in enumerate(weights):
            W.mul_(self.masks[l])
            if self.regrow is not None:
                s = self.signs[l].to(W.dtype)
                W.copy_(s * (s * W).clamp(min=0.0))

    def rewires_now(self):
        """Whether the current step removes and regrows."""
        return self.regrow is not None and self.step % self.every == 0 and (
            self.t_end_steps is None or self.step < self.t_end_steps)

    @torch.no_grad()
    def langevin_(self, weights, lrs):
        """Step 0 of the module docstring: DEEP R's noise on the active magnitudes (in place; nothing at T = 0)."""
        if self.temperature == 0.0 or not (self.t_end_steps is None or self.step < self.t_end_steps):
            return
        if lrs is None or len(lrs) != len(weights):
            raise input_error("lrs", f"one learning rate per weight matrix ({len(weights)}) with a temperature", lrs)
        for l, W in enumerate(weights):
            sd = math.sqrt(2.0 * float(lrs[l]) * self.temperature * self.units[l])
            nu = torch.randn(W.shape, generator=self.generator, dtype=torch.float64).to(device=W.device, dtype=W.dtype)
            W.add_(self.signs[l].to(W.dtype) * self.masks[l] * (sd * nu))

    @torch.no_grad()
    def step_(self, weights, grads=None, lrs=None):
        """One training step's constraint and, on a rewiring step, removal and regrowth (in place).

        ``grads``: the batch's ``dL/dW`` per matrix (default: ``W.grad``). ``lrs``: the matrices' learning rates
        of the step (needed with a temperature). Returns ``(removed, regrown)``.
        """
        self.langevin_(weights, lrs)
        self.constrain_(weights)
        removed = regrown = 0
        if self.rewires_now():
            for l, W in enumerate(weights):
                m, s = self.masks[l], self.signs[l]
                dead = m & ((s.to(W.dtype) * W) <= 0)
                m &= ~dead
                n_re = self.k_active[l] - int(m.sum())
                grad = (W.grad if grads is None else grads[l])
                if grad is None and self.regrow != "random":
                    grad = torch.zeros_like(W)
                idx = regrow_choice(grad, m, s, n_re, self.regrow, self.generator)
                m.view(-1)[idx] = True
                W.view(-1)[idx] = s.view(-1)[idx].to(W.dtype) * EPSILON
                W.mul_(m)
                removed += int(dead.sum())
                regrown += int(idx.numel())
        self.step += 1
        self.removed += removed
        self.regrown += regrown
        return removed, regrown

    # ------------------------------------------------------------------------------- checks and state
    def violations(self, weights):
        """Counts that must stay 0: active-count mismatches, nonzero dormant weights, sign changes."""
        count = nonzero = sign = 0
        for l, W in enumerate(weights):
            m, s = self.masks[l], self.signs[l].to(W.dtype)
            count += abs(int(m.sum()) - self.k_active[l])
            nonzero += int(((W != 0) & ~m).sum())
            if self.regrow is not None:
                sign += int(((s * W) < 0).sum())
        return {"active_count": count, "dormant_nonzero": nonzero, "sign": sign}

    def epoch_stats(self):
        """``{"removed", "regrown", "active"}`` since the last call (the counters restart)."""
        out = {"removed": self.removed, "regrown": self.regrown, "active": list(self.k_active)}
        self.removed = self.regrown = 0
        return out

    def state(self):
        """``(tensors, state, generator state)`` for a checkpoint."""
        tensors = {f"mask.{l}": m.clone() for l, m in enumerate(self.masks)}
        tensors.update({f"rewire_sign.{l}": s.clone() for l, s in enumerate(self.signs)})
        state = {"step": self.step, "removed": self.removed, "regrown": self.regrown, "k_active": self.k_active}
        return tensors, state, self.generator.get_state().clone()

    def load_state(self, tensors, state, generator_state, device=None):
        """Restore what :meth:`state` returned."""
        n = len(self.presyn)
        self.masks = [tensors[f"mask.{l}"].to(torch.bool).to(device).clone() for l in range(n)]
        self.signs = [tensors[f"rewire_sign.{l}"].to(torch.int8).to(device).clone() for l in range(n)]
        self.step, self.removed, self.regrown = int(state["step"]), int(state["removed"]), int(state["regrown"])
        self.k_active = [int(k) for k in state["k_active"]]
        self.generator.set_state(generator_state)
        return self


def weight_units(spec):
    """Per weight matrix ``u_l = threshold / (K_peak * n_pre)`` of ``spec`` (the simulator's weight unit)."""
    k = 1.0 / math.e if spec.tau_mem_ms == spec.tau_syn_ms else 0.25
    return [spec.threshold / (k * n) for n in spec.layer_sizes[:-1]]
