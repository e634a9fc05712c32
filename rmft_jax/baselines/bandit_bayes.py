"""Bayes references for the MAB training prior: the exact gap posterior on a grid, and informed policies on it.

The prior (GapMAB with gap_range): the best arm j is uniform over the A arms, the gap D ~ U[gap_low,
gap_high], arm j has mean hi = 0.5 + D/2 and the others lo = 0.5 - D/2; rewards are Bernoulli. The
posterior is a function of the per-arm success and failure counts, so the state is the pull counts and
reward sums of the classical baselines, and `select` recomputes the posterior each round, exactly on
`grid_size` midpoints of the gap range (the midpoint rule for the uniform prior over D):
    log p(j, D | s, f) = sum_a [s_a log lo + f_a log(1 - lo)] + s_j log(hi / lo) + f_j log((1 - hi) / (1 - lo)).
Every posterior moment the policies need follows from two sums per arm, u_a = E[D 1{j = a}] and
v_a = E[lo D 1{j = a}], since hi + lo = 1 and hi - lo = D:
    E[mu_a] = E[lo] + u_a,   E[mu_a^2] = E[lo^2] + u_a,   E[mu_a mu_b] = E[lo^2] + v_a + v_b (a != b).
Policies: gap_bayes_greedy (argmax posterior mean), gap_bayes_thompson (sample (j, D), play j) and
gap_bayes_kg (online knowledge gradient, Ryzhov, Powell & Frazier 2012). None is Bayes-optimal (that is
intractable at T = 100): each one's Bayes regret is an upper bound on the Bayes-optimal regret.
Rewards are taken as Bernoulli successes (a reward r in [0, 1] counts as r successes and 1 - r failures).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from rmft_jax._checks import check_int
from rmft_jax.baselines import bandits, counter_rng

Array = Any


def gap_grid(gap_low: float, gap_high: float, grid_size: int) -> Array:
    """The `grid_size` midpoints of [gap_low, gap_high] -> (G,) float32."""
    width = (gap_high - gap_low) / grid_size
    return gap_low + width * (jnp.arange(grid_size, dtype=jnp.float32) + 0.5)


def _sum_arms(values_AxM: Array) -> Array:
    """Sum over the arm axis as A - 1 elementwise adds: XLA's CPU reductions over a major axis are far slower."""
    return functools.reduce(jnp.add, list(values_AxM))


def gap_log_posterior(successes_AxN: Array, failures_AxN: Array, gaps_G: Array) -> Array:
    """Normalized log p(j, D_g | counts) over best arm j and grid gap D_g -> logpost_AxNxG (grid minor)."""
    lo_G, hi_G = 0.5 - gaps_G / 2, 0.5 + gaps_G / 2
    # Every arm at lo, then arm j's own counts re-weighted from lo to hi: O(A G N), not O(A^2 G N).
    total_s_Nx1, total_f_Nx1 = jnp.sum(successes_AxN, axis=0)[:, None], jnp.sum(failures_AxN, axis=0)[:, None]
    base_NxG = total_s_Nx1 * jnp.log(lo_G) + total_f_Nx1 * jnp.log1p(-lo_G)
    logpost_AxNxG = (
        base_NxG
        + successes_AxN[..., None] * (jnp.log(hi_G) - jnp.log(lo_G))
        + failures_AxN[..., None] * (jnp.log1p(-hi_G) - jnp.log1p(-lo_G))
    )
    peak_N = functools.reduce(jnp.maximum, list(jnp.max(logpost_AxNxG, axis=2)))
    shifted_AxNxG = logpost_AxNxG - peak_N[:, None]
    return shifted_AxNxG - jnp.log(_sum_arms(jnp.sum(jnp.exp(shifted_AxNxG), axis=2)))[:, None]


def gap_posterior_moments(successes_AxN: Array, failures_AxN: Array, gaps_G: Array) -> tuple[Array, Array]:
    """Posterior means E[mu_a] -> (A, N) and second moments E[mu_a mu_b] -> (A, A, N)."""
    post_AxNxG = jnp.exp(gap_log_posterior(successes_AxN, failures_AxN, gaps_G))
    lo_G = 0.5 - gaps_G / 2
    marginal_NxG = _sum_arms(post_AxNxG)
    mean_lo_N, mean_lo2_N = marginal_NxG @ lo_G, marginal_NxG @ lo_G**2
    u_AxN, v_AxN = post_AxNxG @ gaps_G, post_AxNxG @ (lo_G * gaps_G)
    eye_AxAx1 = jnp.eye(successes_AxN.shape[0], dtype=bool)[:, :, None]
    second_AxAxN = jnp.where(eye_AxAx1, mean_lo2_N + u_AxN[:, None], mean_lo2_N + v_AxN[:, None] + v_AxN[None])
    return mean_lo_N + u_AxN, second_AxAxN


def knowledge_gradient(means_AxN: Array, second_AxAxN: Array) -> Array:
    """KG_a = E_r[max_b mean_b after one Bernoulli reward r of arm a] - max_b mean_b -> (A, N).

    After r = 1 the posterior mean of arm b is E[mu_a mu_b] / E[mu_a], after r = 0 it is
    (E[mu_b] - E[mu_a mu_b]) / (1 - E[mu_a]); weighting by the predictive P(r = 1) = E[mu_a] cancels
    the denominators: E_r[max_b ...] = max_b E[mu_a mu_b] + max_b (E[mu_b] - E[mu_a mu_b]).
    """
    after_success_AxN = jnp.max(second_AxAxN, axis=1)
    after_failure_AxN = jnp.max(means_AxN[None] - second_AxAxN, axis=1)
    return after_success_AxN + after_failure_AxN - jnp.max(means_AxN, axis=0)


def _moments(state: bandits.State, hp: dict) -> tuple[Array, Array]:
    """Posterior moments of the arm means from the counts state."""
    gaps_G = gap_grid(hp["gap_low"], hp["gap_high"], hp["grid_size"])
    return gap_posterior_moments(state["sums"], state["counts"] - state["sums"], gaps_G)


def _greedy_select(state: bandits.State, t: Array, draws: bandits.Draws, hp: dict) -> Array:
    """Argmax of the posterior mean reward, ties at random."""
    return counter_rng.random_argmax(draws.ties, _moments(state, hp)[0])


def _thompson_select(state: bandits.State, t: Array, draws: bandits.Draws, hp: dict) -> Array:
    """Sample (j, D) from the posterior and play j: j from its marginal, D is not needed."""
    gaps_G = gap_grid(hp["gap_low"], hp["gap_high"], hp["grid_size"])
    logpost_AxNxG = gap_log_posterior(state["sums"], state["counts"] - state["sums"], gaps_G)
    logits_AxN = jax.nn.logsumexp(logpost_AxNxG, axis=2)
    return jax.random.categorical(jax.random.fold_in(draws.key, t), logits_AxN, axis=0).astype(jnp.int32)


def _kg_select(state: bandits.State, t: Array, draws: bandits.Draws, hp: dict) -> Array:
    """Online KG: argmax_a mean_a + (T - t - 1) KG_a (the rounds left after this one), ties at random."""
    means_AxN, second_AxAxN = _moments(state, hp)
    remaining = jnp.maximum(hp["horizon"] - t - 1, 0).astype(jnp.float32)
    return counter_rng.random_argmax(draws.ties, means_AxN + remaining * knowledge_gradient(means_AxN, second_AxAxN))


def check_integer(name: str, value: Any, low: int, why: str) -> None:
    """Raise ValueError unless `value` is an integer (7.0 allowed: resolve_hparams casts it) >= low."""
    integral = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
    check_int(name, int(value) if integral else value, low, why)


def _check_gap(hp: dict) -> None:
    """0 <= gap_low <= gap_high <= 1 with gap_low < 1, grid_size >= 1, horizon >= 1 (KG)."""
    low, high = hp["gap_low"], hp["gap_high"]
    if not (
        isinstance(low, (int, float)) and isinstance(high, (int, float)) and 0.0 <= low <= high <= 1.0 and low < 1.0
    ):
        raise ValueError(
            f"gap_low and gap_high must satisfy 0 <= gap_low <= gap_high <= 1 with gap_low < 1 "
            f"(the prior's gap range U[gap_low, gap_high]), got gap_low={low!r}, gap_high={high!r}."
        )
    check_integer("grid_size", hp["grid_size"], 1, "the number of grid points of the gap posterior")
    if "horizon" in hp:
        check_integer("horizon", hp["horizon"], 1, "the horizon T of the knowledge-gradient lookahead")


def _gap_defaults(horizon: int, num_actions: int) -> dict:
    """The MAB training prior: D ~ U[0.1, 0.5] on 256 grid midpoints."""
    return {"gap_low": 0.1, "gap_high": 0.5, "grid_size": 256}


def _kg_defaults(horizon: int, num_actions: int) -> dict:
    """The training prior plus the run's horizon for the lookahead."""
    return {**_gap_defaults(horizon, num_actions), "horizon": horizon}


# unit_rewards: run_bandit rejects reward tables outside [0, 1], which the Bernoulli likelihood cannot take.
GAP_ALGORITHMS = {
    f"gap_bayes_{name}": bandits.Algorithm(
        bandits._counts_init, select, bandits._counts_update, defaults, _check_gap, unit_rewards=True
    )
    for name, select, defaults in (
        ("greedy", _greedy_select, _gap_defaults),
        ("thompson", _thompson_select, _gap_defaults),
        ("kg", _kg_select, _kg_defaults),
    )
}
bandits.register(GAP_ALGORITHMS)
