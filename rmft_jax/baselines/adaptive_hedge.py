"""Parameter-free Hedge: AdaHedge and FlipFlop (de Rooij, van Erven, Grünwald, Koolen, JMLR 2014), optimistic Hedge.

AdaHedge plays Hedge with eta_t = ln A / Delta_{t-1}, where Delta accumulates the mixability gaps
delta_t = h_t - m_t >= 0 (h_t = w_t . l_t the Hedge loss, m_t = -(1/eta_t) ln(w_t . exp(-eta_t l_t))
the mix loss). While Delta = 0, eta = infinity: Follow-the-Leader, uniform over the leaders. FlipFlop
alternates an FTL regime (eta = infinity) and an AdaHedge regime (eta = ln A / Delta^ah), keeping one
gap total per regime: it leaves FTL once Delta^ftl > (phi / alpha) Delta^ah and leaves AdaHedge once
Delta^ah > alpha Delta^ftl (the paper's Algorithm 2, phi = 2.37, alpha = 1.243).

Losses are -rewards: both algorithms are invariant to translating and scaling the losses, so this is
the same as 1 - rewards for rewards in [0, 1] and needs no range for unbounded ones. Policies map a
reward table (..., T, A) -> (..., T, A); round t sees rewards[..., :t, :] only.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from rmft_jax import _checks
from rmft_jax.baselines.full_info import _as_float, _check_rewards, cumulative_before

Array = Any
FLIPFLOP_PHI = 2.37
FLIPFLOP_ALPHA = 1.243


def _weights_and_mix_loss(cum_AxB: Array, loss_AxB: Array, eta_B: Array) -> tuple[Array, Array]:
    """Hedge weights w_t from the cumulative losses before round t, and the mix loss m_t (eta = inf allowed)."""
    infinite_B = jnp.isinf(eta_B)
    gap_AxB = cum_AxB - jnp.min(cum_AxB, axis=0)
    # eta = inf is Follow-the-Leader: uniform over the exact leaders.
    leaders_AxB = (gap_AxB == 0).astype(cum_AxB.dtype)
    eta_safe_B = jnp.where(infinite_B, 1.0, eta_B)
    log_w_AxB = jax.nn.log_softmax(-eta_safe_B * gap_AxB, axis=0)
    w_AxB = jnp.where(infinite_B, leaders_AxB / jnp.sum(leaders_AxB, axis=0), jnp.exp(log_w_AxB))
    mix_finite_B = -jax.scipy.special.logsumexp(log_w_AxB - eta_safe_B * loss_AxB, axis=0) / eta_safe_B
    # The eta -> inf limit of the mix loss is the change of the best cumulative loss, L*_t - L*_{t-1}:
    # then FTL's gaps sum to its regret (the loss of the best current leader would make them all 0).
    mix_ftl_B = jnp.min(cum_AxB + loss_AxB, axis=0) - jnp.min(cum_AxB, axis=0)
    return w_AxB, jnp.where(infinite_B, mix_ftl_B, mix_finite_B)


@functools.partial(jax.jit, static_argnames=("flipflop",))
def _adaptive_scan(rewards_BxTxA: Array, phi: Array, alpha: Array, flipflop: bool) -> tuple[Array, Array]:
    """(policies (B, T, A), eta per round (B, T)) of AdaHedge or FlipFlop; batch on the minor axis."""
    losses_TxAxB = -jnp.transpose(rewards_BxTxA, (1, 2, 0))
    num_actions, batch = losses_TxAxB.shape[1:]
    log_actions = jnp.log(jnp.asarray(num_actions, rewards_BxTxA.dtype))

    def step(carry, loss_AxB):
        cum_AxB, delta_ah_B, delta_ftl_B, in_ftl_B = carry
        eta_ah_B = jnp.where(delta_ah_B > 0, log_actions / jnp.maximum(delta_ah_B, 1e-30), jnp.inf)
        eta_B = jnp.where(in_ftl_B, jnp.inf, eta_ah_B)
        w_AxB, mix_B = _weights_and_mix_loss(cum_AxB, loss_AxB, eta_B)
        # delta >= 0 in exact arithmetic; clip the float rounding that would make it negative.
        gap_B = jnp.maximum(jnp.sum(w_AxB * loss_AxB, axis=0) - mix_B, 0.0)
        delta_ftl_B = delta_ftl_B + jnp.where(in_ftl_B, gap_B, 0.0)
        delta_ah_B = delta_ah_B + jnp.where(in_ftl_B, 0.0, gap_B)
        if flipflop:
            leave_ftl_B = in_ftl_B & (delta_ftl_B > phi / alpha * delta_ah_B)
            leave_ah_B = ~in_ftl_B & (delta_ah_B > alpha * delta_ftl_B)
            in_ftl_B = (in_ftl_B & ~leave_ftl_B) | leave_ah_B
        return (cum_AxB + loss_AxB, delta_ah_B, delta_ftl_B, in_ftl_B), (w_AxB, eta_B)

    zeros_B = jnp.zeros((batch,), rewards_BxTxA.dtype)
    init = (
        jnp.zeros((num_actions, batch), rewards_BxTxA.dtype),
        zeros_B,
        zeros_B,
        jnp.full((batch,), flipflop),
    )  # FlipFlop opens in the FTL regime; AdaHedge never enters it
    _, (w_TxAxB, eta_TxB) = jax.lax.scan(step, init, losses_TxAxB)
    return jnp.transpose(w_TxAxB, (2, 0, 1)), eta_TxB.T


def _run(rewards: Array, flipflop: bool, phi: float, alpha: float) -> tuple[jax.Array, jax.Array]:
    """Validate, flatten the leading dims, scan, restore them."""
    _check_rewards(rewards)
    rewards = _as_float(rewards)
    lead, (horizon, num_actions) = rewards.shape[:-2], rewards.shape[-2:]
    policies_BxTxA, eta_BxT = _adaptive_scan(
        rewards.reshape(-1, horizon, num_actions),
        jnp.asarray(phi, rewards.dtype),
        jnp.asarray(alpha, rewards.dtype),
        flipflop,
    )
    return policies_BxTxA.reshape(rewards.shape), eta_BxT.reshape(lead + (horizon,))


def adahedge(rewards: Array, return_eta: bool = False) -> jax.Array | tuple[jax.Array, jax.Array]:
    """AdaHedge policies (..., T, A); with return_eta also the learning rate of each round (..., T) (inf = FTL)."""
    policies, eta = _run(rewards, False, FLIPFLOP_PHI, FLIPFLOP_ALPHA)
    return (policies, eta) if return_eta else policies


def flipflop(
    rewards: Array, phi: float = FLIPFLOP_PHI, alpha: float = FLIPFLOP_ALPHA, return_eta: bool = False
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """FlipFlop policies (..., T, A) with parameters phi > 1, alpha > 0 (defaults: the paper's 2.37, 1.243)."""
    if not phi > 1.0:
        raise ValueError(f"phi must be > 1 (the FlipFlop regime band), got {phi!r}.")
    _checks.check_positive("alpha", alpha)
    policies, eta = _run(rewards, True, float(phi), float(alpha))
    return (policies, eta) if return_eta else policies


@jax.jit
def _optimistic_policies(rewards: Array, eta: Array) -> Array:
    """Jitted core of `optimistic_hedge`."""
    hint_TxA = jnp.concatenate([jnp.zeros_like(rewards[..., :1, :]), rewards[..., :-1, :]], axis=-2)
    return jax.nn.softmax(eta[..., None, None] * (cumulative_before(rewards) + hint_TxA), axis=-1)


def optimistic_hedge(rewards: Array, eta: Array) -> jax.Array:
    """Optimistic Hedge with the last reward vector as the hint: pi_t = softmax(eta (sum_{s<t} r_s + r_{t-1}))."""
    _check_rewards(rewards)
    _checks.check_positive("eta", eta, allow_zero=True)
    rewards = _as_float(rewards)
    eta = jnp.asarray(eta, rewards.dtype)
    if jnp.ndim(eta) > rewards.ndim - 2:
        raise ValueError(
            f"eta must be a scalar or broadcast against the leading dims {rewards.shape[:-2]}, "
            f"got shape {jnp.shape(eta)}."
        )
    return _optimistic_policies(rewards, eta)
