"""Full-information baselines: FTRL (entropic = Hedge, Euclidean) and Follow-the-Leader.

Each maps a reward table (..., T, A) to the policies (..., T, A) it plays: the policy of round t
is a function of rewards[..., :t, :] only (round 0 plays before seeing anything). All rounds come
from one exclusive prefix sum, so there is no scan over time.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import _checks

Array = Any
REGULARIZERS = ("entropy", "l2")
SCHEDULES = ("constant", "anytime")


def cumulative_before(rewards: Array) -> jax.Array:
    """Exclusive prefix sum over rounds: entry t is sum_{s<t} r_s.  (..., T, A) -> (..., T, A)."""
    # Shift instead of cumsum - rewards so round t is bit-for-bit independent of rewards >= t.
    cum_TxA = jnp.cumsum(rewards[..., :-1, :], axis=-2)
    return jnp.concatenate([jnp.zeros_like(rewards[..., :1, :]), cum_TxA], axis=-2)


def project_to_simplex(v: jax.Array) -> jax.Array:
    """Euclidean projection of each row (..., A) onto the probability simplex (sort-based)."""
    num_actions = v.shape[-1]
    sorted_desc = -jnp.sort(-v, axis=-1)
    cssv = jnp.cumsum(sorted_desc, axis=-1) - 1.0
    ks = jnp.arange(1, num_actions + 1, dtype=v.dtype)
    support = sorted_desc - cssv / ks > 0
    rho = jnp.sum(support, axis=-1, keepdims=True)  # always >= 1: the largest entry is in it
    theta = jnp.take_along_axis(cssv, rho - 1, axis=-1) / rho.astype(v.dtype)
    return jnp.maximum(v - theta, 0.0)


def hedge_theory_eta(horizon: int, num_actions: int) -> float:
    """The theory-tuned Hedge learning rate sqrt(8 ln A / T) (regret <= sqrt(T ln A / 2) for rewards in [0, 1])."""
    _checks.check_horizon(horizon)
    if num_actions < 2:
        raise ValueError(f"num_actions must be >= 2, got {num_actions}.")
    return math.sqrt(8.0 * math.log(num_actions) / horizon)


def _check_rewards(rewards: Array) -> None:
    """Validate a reward table (..., T, A) with T >= 2 and A >= 1."""
    _checks.check_min_ndim("rewards", rewards, 2, "(..., T, A)")
    _checks.check_horizon(jnp.shape(rewards)[-2], name="rewards.shape[-2] (the horizon T)")


def _as_float(rewards: Array) -> jax.Array:
    """Rewards as a floating array (integer tables become float32)."""
    rewards = jnp.asarray(rewards)
    return rewards if jnp.issubdtype(rewards.dtype, jnp.floating) else rewards.astype(jnp.float32)


@functools.partial(jax.jit, static_argnames=("regularizer", "schedule"))
def _ftrl_policies(rewards: jax.Array, eta: jax.Array, regularizer: str, schedule: str) -> jax.Array:
    """Jitted core of `ftrl` (inputs already validated)."""
    eta_T = eta[..., None] * jnp.ones(rewards.shape[-2], rewards.dtype)
    if schedule == "anytime":
        eta_T = eta_T / jnp.sqrt(jnp.arange(1, rewards.shape[-2] + 1, dtype=rewards.dtype))
    scores_TxA = eta_T[..., None] * cumulative_before(rewards)
    if regularizer == "entropy":
        return jax.nn.softmax(scores_TxA, axis=-1)
    return project_to_simplex(scores_TxA)


def ftrl(rewards: Array, eta: Array, regularizer: str = "entropy", schedule: str = "constant") -> jax.Array:
    """FTRL policies for a reward table (..., T, A) -> (..., T, A).

    regularizer="entropy": Hedge, pi_t = softmax(eta * sum_{s<t} r_s).
    regularizer="l2": Euclidean FTRL, pi_t = Proj_simplex(eta * sum_{s<t} r_s)
      (the maximizer of <x, sum_{s<t} r_s> - ||x||^2 / (2 eta) over the simplex).
    eta: a non-negative scalar, or an array that broadcasts against the leading dims (...),
      e.g. one learning rate per sequence. Use `hedge_theory_eta(T, A)` for the theory value.
    schedule="constant": the same eta every round (tuned for a known horizon T);
    schedule="anytime": eta_t = eta / sqrt(t) in round t = 1..T (1-indexed), so the regret curve
      itself is sublinear in t; eta = sqrt(8 ln A) gives regret <= sqrt(2 t ln A) at every t.
    """
    _check_rewards(rewards)
    _checks.check_choice("regularizer", regularizer, REGULARIZERS)
    _checks.check_choice("schedule", schedule, SCHEDULES)
    _checks.check_positive("eta", eta, allow_zero=True)
    rewards = _as_float(rewards)
    eta = jnp.asarray(eta, dtype=rewards.dtype)
    if jnp.ndim(eta) > rewards.ndim - 2:
        raise ValueError(
            f"eta must be a scalar or broadcast against the leading dims "
            f"{rewards.shape[:-2]} of rewards, got shape {jnp.shape(eta)}."
        )
    return _ftrl_policies(rewards, eta, regularizer, schedule)


def hedge(rewards: Array, eta: Array | None = None, schedule: str = "constant") -> jax.Array:
    """Hedge policies; eta=None uses sqrt(8 ln A / T) (constant) or sqrt(8 ln A) / sqrt(t) (anytime)."""
    _check_rewards(rewards)
    if eta is None:
        horizon, num_actions = jnp.shape(rewards)[-2], jnp.shape(rewards)[-1]
        eta = hedge_theory_eta(horizon, num_actions) * (math.sqrt(horizon) if schedule == "anytime" else 1.0)
    return ftrl(rewards, eta, regularizer="entropy", schedule=schedule)


@jax.jit
def _hedge_regret_scan(rewards_BxTxA: jax.Array, eta_B: jax.Array) -> jax.Array:
    """Time-major scan of Hedge's expected regret; batch is the minor axis so exp vectorizes."""
    # Swapping (B, T) moves whole rows of A values (a cheap copy); each step then transposes one
    # (B, A) slice to (A, B). A full (T, A, B) transpose of the table costs more than the scan.
    rewards_TxBxA = jnp.swapaxes(rewards_BxTxA, 0, 1)
    batch, num_actions = rewards_TxBxA.shape[1:]

    def step(carry, r_BxA):
        cum_AxB, gain_B = carry
        r_AxB = r_BxA.T
        w_AxB = jnp.exp(eta_B * (cum_AxB - jnp.max(cum_AxB, axis=0)))
        gain_B = gain_B + jnp.sum(w_AxB * r_AxB, axis=0) / jnp.sum(w_AxB, axis=0)
        cum_AxB = cum_AxB + r_AxB
        return (cum_AxB, gain_B), jnp.max(cum_AxB, axis=0) - gain_B

    zeros = jnp.zeros((num_actions, batch), rewards_BxTxA.dtype)
    # Unrolling lets XLA fuse consecutive rounds' small kernels (~15% on a 2-core CPU).
    _, regret_TxB = jax.lax.scan(step, (zeros, zeros[0]), rewards_TxBxA, unroll=8)
    return regret_TxB.T


def hedge_regret(rewards: Array, eta: Array) -> jax.Array:
    """Hedge's expected static regret curve (..., T, A) -> (..., T) without materializing policies.

    Equals `regret.static_regret(rewards, ftrl(rewards, eta))`, computed by a scan over rounds with
    the batch as the vectorized axis: the fast path for tuning eta on many sequences.
    """
    _check_rewards(rewards)
    _checks.check_positive("eta", eta, allow_zero=True)
    rewards = _as_float(rewards)
    lead, (horizon, num_actions) = rewards.shape[:-2], rewards.shape[-2:]
    eta = jnp.asarray(eta, dtype=rewards.dtype)
    if jnp.ndim(eta) > len(lead):
        raise ValueError(
            f"eta must be a scalar or broadcast against the leading dims {lead} of rewards, got shape {jnp.shape(eta)}."
        )
    eta_B = jnp.broadcast_to(eta, lead).reshape(-1)
    curve_BxT = _hedge_regret_scan(rewards.reshape(-1, horizon, num_actions), eta_B)
    return curve_BxT.reshape(lead + (horizon,))


def tune_hedge_eta(rewards: Array, grid: Sequence[float]) -> tuple[float, list[float]]:
    """(the eta of `grid` with the least mean regret at T on `rewards` (N, T, A), each eta's mean regret at T)."""
    finals = [float(jnp.mean(hedge_regret(rewards, eta)[..., -1])) for eta in grid]
    return grid[int(np.argmin(finals))], finals


@jax.jit
def _ftl_policies(rewards: jax.Array) -> jax.Array:
    """Jitted core of `ftl`."""
    cum_TxA = cumulative_before(rewards)
    leaders_TxA = (cum_TxA == jnp.max(cum_TxA, axis=-1, keepdims=True)).astype(rewards.dtype)
    return leaders_TxA / jnp.sum(leaders_TxA, axis=-1, keepdims=True)


def ftl(rewards: Array) -> jax.Array:
    """Follow-the-Leader: uniform over the actions with the largest cumulative reward so far."""
    _check_rewards(rewards)
    rewards = _as_float(rewards)
    return _ftl_policies(rewards)
