"""Fits of a policy to the FTRL family: eta-hat, the total-variation distance, regret-optimal eta.

Two FTRL families over the cumulative past reward R_t = sum_{s<t} r_s:
  "entropy": Hedge(eta), pi_t = softmax(eta R_t);
  "l2":      Euclidean FTRL(eta), pi_t = Proj_simplex(eta R_t).
eta-hat is the eta whose policies are closest to the model's in mean total variation
TV = 1/2 sum_a |pi_t(a) - pi'_t(a)|, averaged over every round of every sequence. Every 1-D search
here is a geometric grid followed by a golden-section search in log eta between the grid
neighbours of the best grid point, all inside one jitted call.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from rmft_jax import regret
from rmft_jax.baselines.full_info import cumulative_before, hedge_regret, project_to_simplex

FAMILIES = ("entropy", "l2")
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


def ftrl_policies(cum_xTxA: jax.Array, eta: jax.Array, family: str = "entropy") -> jax.Array:
    """FTRL(eta) policies from cumulative past rewards (..., T, A); `family` is "entropy" or "l2"."""
    scores = eta * cum_xTxA
    return jax.nn.softmax(scores, axis=-1) if family == "entropy" else project_to_simplex(scores)


def tv_per_sequence(p_NxTxA: jax.Array, q_NxTxA: jax.Array) -> jax.Array:
    """Total variation between two policy sequences, averaged over rounds: (N, T, A) x2 -> (N,)."""
    return 0.5 * jnp.mean(jnp.sum(jnp.abs(p_NxTxA - q_NxTxA), axis=-1), axis=-1)


def argmin_log_eta(
    objective: Callable[[jax.Array], jax.Array], eta_min: float, eta_max: float, num_grid: int, num_golden: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Minimize objective(log eta) on [eta_min, eta_max]: grid, then golden section. Traceable.

    Returns (eta, objective value, whether the grid's best point was an endpoint of the grid).
    """
    log_grid = jnp.linspace(jnp.log(eta_min), jnp.log(eta_max), num_grid)
    values = jax.lax.map(objective, log_grid)
    best = jnp.argmin(values)
    lo, hi = log_grid[jnp.maximum(best - 1, 0)], log_grid[jnp.minimum(best + 1, num_grid - 1)]

    def step(_, carry):
        a, b, c, d, fc, fd = carry
        # Keep the side holding the lower interior value; reuse one point, evaluate one new one.
        left = fc < fd
        a, b = jnp.where(left, a, c), jnp.where(left, d, b)
        new = jnp.where(left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        f_new = objective(new)
        c, d = jnp.where(left, new, d), jnp.where(left, c, new)
        fc, fd = jnp.where(left, f_new, fd), jnp.where(left, fc, f_new)
        return a, b, c, d, fc, fd

    c, d = hi - _INV_PHI * (hi - lo), lo + _INV_PHI * (hi - lo)
    a, b, c, d, fc, fd = jax.lax.fori_loop(0, num_golden, step, (lo, hi, c, d, objective(c), objective(d)))
    # The golden interval never contains the grid point itself when it sat at an endpoint: compare.
    candidates = jnp.stack([c, d, log_grid[best]])
    cand_values = jnp.stack([fc, fd, values[best]])
    pick = jnp.argmin(cand_values)
    at_edge = (best == 0) | (best == num_grid - 1)
    return jnp.exp(candidates[pick]), cand_values[pick], at_edge


@functools.partial(jax.jit, static_argnames=("family", "num_grid", "num_golden"))
def fit_eta(
    rewards_NxTxA: jax.Array,
    policies_NxTxA: jax.Array,
    family: str = "entropy",
    eta_min: float = 1e-2,
    eta_max: float = 1e3,
    num_grid: int = 61,
    num_golden: int = 40,
) -> dict[str, jax.Array]:
    """eta-hat = argmin_eta mean TV(policies, FTRL(eta)) on the given sequences, and that TV."""
    cum_NxTxA = cumulative_before(rewards_NxTxA)

    def mean_tv(log_eta):
        return jnp.mean(tv_per_sequence(ftrl_policies(cum_NxTxA, jnp.exp(log_eta), family), policies_NxTxA))

    eta, tv, at_edge = argmin_log_eta(mean_tv, eta_min, eta_max, num_grid, num_golden)
    return {"eta_hat": eta, "tv": tv, "at_edge": at_edge}


def final_regret(rewards_NxTxA: jax.Array, policies_NxTxA: jax.Array) -> jax.Array:
    """Expected static regret at round T of each sequence: (N, T, A) x2 -> (N,)."""
    return regret.static_regret(rewards_NxTxA, policies_NxTxA)[..., -1]


def family_regret(rewards_NxTxA: jax.Array, eta: jax.Array, family: str = "entropy") -> jax.Array:
    """Expected regret at T of FTRL(eta) on each sequence (N,); Hedge uses the fast scan."""
    if family == "entropy":
        return hedge_regret(rewards_NxTxA, eta)[..., -1]
    return final_regret(rewards_NxTxA, ftrl_policies(cumulative_before(rewards_NxTxA), eta, family))


@functools.partial(jax.jit, static_argnames=("family", "num_grid", "num_golden"))
def regret_optimal_eta(
    rewards_NxTxA: jax.Array,
    family: str = "entropy",
    eta_min: float = 1e-2,
    eta_max: float = 1e3,
    num_grid: int = 61,
    num_golden: int = 30,
) -> dict[str, jax.Array]:
    """The eta minimizing FTRL(eta)'s mean regret at T over the given sequences (a tuning set)."""

    def mean_regret(log_eta):
        return jnp.mean(family_regret(rewards_NxTxA, jnp.exp(log_eta), family))

    eta, value, at_edge = argmin_log_eta(mean_regret, eta_min, eta_max, num_grid, num_golden)
    return {"eta": eta, "regret": value, "at_edge": at_edge}
