"""Regret curves (static, pseudo, dynamic) and regret-growth statistics, computed on device.

Every curve is cumulative: entry t (0-indexed) is the regret after rounds 0..t, so the value at
round T is `curve[..., -1]`. All functions accept arbitrary leading batch dimensions.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc

from rmft_jax import _checks

Array = Any


def _check_table(name: str, table: Array) -> None:
    """Validate a (..., T, A) table: two trailing axes and T >= 2."""
    _checks.check_min_ndim(name, table, 2, "(..., T, A)")
    _checks.check_horizon(jnp.shape(table)[-2], name=f"{name}.shape[-2] (the horizon T)")


def static_regret(rewards: Array, policies: Array) -> jax.Array:
    """Static regret curve: max_a sum_{s<=t} r_s(a) - sum_{s<=t} <pi_s, r_s>.  (..., T, A) x2 -> (..., T)."""
    _check_table("rewards", rewards)
    _checks.check_same_shape("rewards", rewards, "policies", policies)
    best_cum_T = jnp.max(jnp.cumsum(rewards, axis=-2), axis=-1)
    learner_cum_T = jnp.cumsum(jnp.sum(policies * rewards, axis=-1), axis=-1)
    return best_cum_T - learner_cum_T


def realized_regret(rewards: Array, actions: Array) -> jax.Array:
    """Static regret of sampled actions: one-hot policies.  (..., T, A), (..., T) int -> (..., T)."""
    _check_table("rewards", rewards)
    _check_actions(actions, rewards)
    return static_regret(rewards, jax.nn.one_hot(actions, rewards.shape[-1], dtype=rewards.dtype))


def _check_actions(actions: Array, table: Array) -> None:
    """Validate (..., T) integer actions against a (..., T, A) table (leading dims broadcast)."""
    if not jnp.issubdtype(jnp.asarray(actions).dtype, jnp.integer):
        raise ValueError(f"actions must be integers, got dtype {jnp.asarray(actions).dtype}.")
    if jnp.ndim(actions) < 1 or jnp.shape(actions)[-1] != jnp.shape(table)[-2]:
        raise ValueError(
            f"actions must have shape (..., T) with T = {jnp.shape(table)[-2]} matching the table "
            f"(..., T, A), got shape {jnp.shape(actions)}."
        )
    if _checks.is_concrete(actions):
        num_actions = jnp.shape(table)[-1]
        if bool(jnp.any((actions < 0) | (actions >= num_actions))):
            raise ValueError(f"actions must lie in [0, {num_actions}), the table has A = {num_actions}.")


def pseudo_regret(means: Array, actions: Array) -> jax.Array:
    """Pseudo-regret curve: sum_{s<=t} max_a mu_s(a) - mu_s(a_s).  (..., T, A), (..., T) int -> (..., T).

    Leading dimensions broadcast, so one (T, A) table of means serves (N, T) actions of N runs.
    With per-round means (non-stationary bandits) the comparator is the best arm of each round:
    this is the dynamic regret (see `dynamic_regret`).
    """
    _check_table("means", means)
    _check_actions(actions, means)
    lead = jnp.broadcast_shapes(jnp.shape(means)[:-2], jnp.shape(actions)[:-1])
    means_TxA = jnp.broadcast_to(means, lead + jnp.shape(means)[-2:])
    actions_T = jnp.broadcast_to(actions, lead + jnp.shape(actions)[-1:])
    chosen_T = jnp.take_along_axis(means_TxA, actions_T[..., None], axis=-1)[..., 0]
    return jnp.cumsum(jnp.max(means_TxA, axis=-1) - chosen_T, axis=-1)


def dynamic_regret(means: Array, actions: Array) -> jax.Array:
    """Dynamic regret against the per-round best arm: sum_{s<=t} max_a mu_s(a) - mu_s(a_s)."""
    return pseudo_regret(means, actions)


def expected_pseudo_regret(means: Array, policies: Array) -> jax.Array:
    """Pseudo/dynamic regret of mixed policies: sum_{s<=t} max_a mu_s(a) - <pi_s, mu_s>."""
    _check_table("means", means)
    _check_table("policies", policies)
    return jnp.cumsum(jnp.max(means, axis=-1) - jnp.sum(policies * means, axis=-1), axis=-1)


def _student_t_cdf(t: jax.Array, df: jax.Array) -> jax.Array:
    """CDF of Student's t with `df` degrees of freedom, through the regularized incomplete beta."""
    x = df / (df + t * t)
    tail = 0.5 * betainc(df / 2.0, 0.5, x)
    return jnp.where(t < 0, tail, 1.0 - tail)


def _binomial_upper_tail_half(k: jax.Array, n: jax.Array) -> jax.Array:
    """P(X >= k) for X ~ Binomial(n, 1/2): I_{1/2}(k, n - k + 1), and 1 when k = 0."""
    safe_k = jnp.maximum(k, 1.0)
    tail = betainc(safe_k, jnp.maximum(n - safe_k + 1.0, 1.0), 0.5)
    return jnp.where(k <= 0, 1.0, tail)


def _growth_1d(curve_T: jax.Array, min_round: int) -> dict[str, jax.Array]:
    """Growth statistics of one regret curve (see `growth`)."""
    curve_T = curve_T.astype(jnp.float32)
    rounds_T = jnp.arange(1, curve_T.shape[0] + 1, dtype=jnp.float32)
    # log R(t) is undefined for R(t) <= 0: those rounds are left out of the fit (masked), not clipped.
    mask_T = (curve_T > 0) & (rounds_T >= min_round)
    n = jnp.sum(mask_T).astype(jnp.float32)
    x_T = jnp.log(rounds_T)
    y_T = jnp.log(jnp.where(mask_T, curve_T, 1.0))
    n_safe = jnp.maximum(n, 1.0)
    x_bar = jnp.sum(jnp.where(mask_T, x_T, 0.0)) / n_safe
    y_bar = jnp.sum(jnp.where(mask_T, y_T, 0.0)) / n_safe
    dx_T = jnp.where(mask_T, x_T - x_bar, 0.0)
    dy_T = jnp.where(mask_T, y_T - y_bar, 0.0)
    sxx = jnp.sum(dx_T * dx_T)
    beta = jnp.sum(dx_T * dy_T) / jnp.maximum(sxx, 1e-30)
    intercept = y_bar - beta * x_bar
    resid_T = jnp.where(mask_T, dy_T - beta * dx_T, 0.0)
    df = n - 2.0
    stderr = jnp.sqrt(jnp.sum(resid_T**2) / jnp.maximum(df, 1.0) / jnp.maximum(sxx, 1e-30))
    # One-sided test of H0: beta >= 1; a perfect fit (stderr 0) gives t = -inf or +inf.
    t_stat = jnp.where(
        stderr > 0, (beta - 1.0) / jnp.where(stderr > 0, stderr, 1.0), jnp.where(beta < 1.0, -jnp.inf, jnp.inf)
    )
    p_reg = _student_t_cdf(t_stat, jnp.maximum(df, 1.0))
    valid = n >= 3
    nan = jnp.float32(jnp.nan)
    return {
        "beta_hat": jnp.where(valid, beta, nan),
        "intercept": jnp.where(valid, intercept, nan),
        "stderr": jnp.where(valid, stderr, nan),
        "p_reg": jnp.where(valid, p_reg, nan),
        "p_trend": _trend_p_value(curve_T, rounds_T, min_round),
        "num_points": n.astype(jnp.int32),
    }


def _trend_p_value(curve_T: jax.Array, rounds_T: jax.Array, min_round: int) -> jax.Array:
    """Sign test: p-value of 'R(t)/t decreases in at least as many steps as observed' under no trend."""
    avg_T = curve_T / rounds_T
    diff = avg_T[1:] - avg_T[:-1]
    in_range = rounds_T[:-1] >= min_round
    decreases = jnp.sum((diff < 0) & in_range).astype(jnp.float32)
    moves = jnp.sum((diff != 0) & in_range).astype(jnp.float32)
    return jnp.where(moves > 0, _binomial_upper_tail_half(decreases, moves), 1.0)


def growth(curve: Array, min_round: int = 1) -> dict[str, jax.Array]:
    """Regret-growth statistics of a regret curve (..., T) (the mean over runs, typically).

    Returns a dict of arrays with shape (...):
      beta_hat:   slope of the least-squares fit log R(t) = intercept + beta_hat * log t over the
                  rounds t = min_round..T (1-indexed) with R(t) > 0; rounds with R(t) <= 0 have no
                  logarithm and are left out of the fit (they are not clipped to a small value);
      intercept, stderr: the fit's intercept and the standard error of beta_hat;
      p_reg:      one-sided p-value for H0: beta >= 1 (Student t, n - 2 degrees of freedom); small
                  means the growth is significantly sublinear;
      p_trend:    sign test p-value for H0 'R(t)/t does not decrease': P(Bin(n, 1/2) >= #decreases)
                  over the n steps t -> t+1 (t >= min_round) where R(t)/t moves;
      num_points: how many rounds entered the fit.
    beta_hat, intercept, stderr and p_reg are NaN when fewer than 3 rounds have positive regret
    (for example a learner that beats the best fixed action throughout).
    """
    _checks.check_min_ndim("curve", curve, 1, "(..., T)")
    _checks.check_horizon(jnp.shape(curve)[-1], name="curve.shape[-1] (the horizon T)")
    if int(min_round) < 1 or int(min_round) > jnp.shape(curve)[-1] - 2:
        raise ValueError(f"min_round must be in [1, T - 2] (1-indexed rounds), got {min_round}.")
    return _growth_nd(jnp.asarray(curve), int(min_round))


@functools.partial(jax.jit, static_argnums=1)
def _growth_nd(curve: jax.Array, min_round: int) -> dict[str, jax.Array]:
    """`_growth_1d` vmapped over the leading axes, compiled once per shape (eager calls would compile op by op)."""

    def fn(c):
        return _growth_1d(c, min_round)

    for _ in range(curve.ndim - 1):
        fn = jax.vmap(fn)
    return fn(curve)
