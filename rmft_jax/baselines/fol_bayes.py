"""The Bayes-optimal FOL policy of a scenario distribution: myopic on the exact (grid) posterior predictive.

In full information the action changes nothing that is observed, so the policy that maximizes the
expected total reward under a prior over reward processes is myopic: each round, the action with
the highest posterior-predictive expected reward E[r_t,a | r_<t]. Its expected regret is the least
any policy can have on that distribution: the limit a learned policy is graded against.

One posterior per scenario family (the `FOL_SCENARIOS` classes), exact up to a grid over the hidden
parameter: stochastic (each action's mean mu ~ U[0, 1], a 1-D grid), linear trend (start and end
level, a 2-D grid), sine trend (the phase, a 1-D grid), FTL-adversarial (the ordered pair, exact
enumeration), uniform and Gaussian (i.i.d., nothing to learn). A `MixtureFOL` adds a posterior over
its components from each component's evidence p(r_<t).

Evidence is a density w.r.t. Lebesgue measure on (0, 1) plus point masses at 0 and 1 (where clipped
noise has atoms). A reward at any other exact value that a deterministic component can produce (the
0.5 of the FTL trap) has probability 0 under every continuous component and positive probability
under the deterministic one: `ATOM_LOG_DENSITY` stands in for that infinite density ratio.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp, ndtr

from rmft_jax import envs
from rmft_jax.baselines.full_info import _as_float, _check_rewards

Array = Any
ATOM_LOG_DENSITY = 1.0e4  # log density of a point mass at an interior value (stands in for +inf)
TIE_TOLERANCE = 1e-6  # predictive means this close to the best count as ties (played uniformly)
GRID_SIZES = {"stochastic": 200, "sine_trend": 256, "linear_trend": 33}
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _clipped_loglik(rewards: Array, means: Array, std: float) -> Array:
    """log-likelihood of rewards under clip(mean + N(0, std^2), 0, 1): atoms at 0 and 1, a density between."""
    z = (rewards - means) / std
    density = -0.5 * z * z - _LOG_SQRT_2PI - math.log(std)
    at_zero = jnp.log(jnp.maximum(ndtr(-means / std), 1e-38))
    at_one = jnp.log(jnp.maximum(ndtr((means - 1.0) / std), 1e-38))
    return jnp.where(rewards <= 0.0, at_zero, jnp.where(rewards >= 1.0, at_one, density))


def clipped_mean(means: Array, std: float) -> Array:
    """E[clip(mean + N(0, std^2), 0, 1)] in closed form."""
    lo, hi = -means / std, (1.0 - means) / std
    pdf = lambda x: jnp.exp(-0.5 * x * x - _LOG_SQRT_2PI)  # noqa: E731
    return (1.0 - ndtr(hi)) + means * (ndtr(hi) - ndtr(lo)) + std * (pdf(lo) - pdf(hi))


def _exclusive_cumsum(x_Tx: Array) -> Array:
    """Entry t is the sum over rounds s < t (a shift, not cumsum - x: -inf entries stay exact)."""
    return jnp.concatenate([jnp.zeros_like(x_Tx[:1]), jnp.cumsum(x_Tx[:-1], axis=0)], axis=0)


def _grid_posterior(loglik_TxAxG: Array, value_TxG: Array) -> tuple[Array, Array]:
    """Uniform prior on a grid per action -> (log evidence of r_<t (T,), predictive mean (T, A))."""
    prefix_TxAxG = _exclusive_cumsum(loglik_TxAxG)
    num_grid = loglik_TxAxG.shape[-1]
    evidence_T = jnp.sum(logsumexp(prefix_TxAxG, axis=-1) - math.log(num_grid), axis=-1)
    post_TxAxG = jax.nn.softmax(prefix_TxAxG, axis=-1)
    return evidence_T, jnp.einsum("tag,tg->ta", post_TxAxG, value_TxG)


def _midpoints(low: float, high: float, num: int) -> Array:
    """num cell midpoints of [low, high]."""
    return low + (high - low) * (jnp.arange(num, dtype=jnp.float32) + 0.5) / num


def _stochastic(env: Any, rewards_TxA: Array, atoms: Array) -> tuple[Array, Array]:
    """StochasticFOL: per action mu ~ U[0, 1] on a grid; clipped Gaussian noise."""
    mu_G = _midpoints(0.0, 1.0, GRID_SIZES["stochastic"])
    loglik_TxAxG = _clipped_loglik(rewards_TxA[..., None], mu_G, env.noise_std)
    value_TxG = jnp.broadcast_to(clipped_mean(mu_G, env.noise_std), (rewards_TxA.shape[0], mu_G.size))
    return _grid_posterior(loglik_TxAxG - _atom_penalty(rewards_TxA, atoms)[..., None], value_TxG)


def _sine_trend(env: Any, rewards_TxA: Array, atoms: Array) -> tuple[Array, Array]:
    """SineTrendFOL: per action the phase ~ U[0, 2 pi) on a grid; means 0.5 + amp sin(2 pi c t / T + phase)."""
    phase_G = _midpoints(0.0, 2.0 * math.pi, GRID_SIZES["sine_trend"])
    t_T = jnp.arange(env.horizon, dtype=jnp.float32)
    means_TxG = 0.5 + env.amplitude * jnp.sin(2.0 * math.pi * env.cycles * t_T[:, None] / env.horizon + phase_G)
    loglik_TxAxG = _clipped_loglik(rewards_TxA[..., None], means_TxG[:, None, :], env.noise_std)
    penalty_TxA = _atom_penalty(rewards_TxA, atoms)
    return _grid_posterior(loglik_TxAxG - penalty_TxA[..., None], clipped_mean(means_TxG, env.noise_std))


def _linear_trend(env: Any, rewards_TxA: Array, atoms: Array) -> tuple[Array, Array]:
    """LinearTrendFOL: per action (start, end) ~ U[0, 1]^2 on a grid; means interpolate linearly."""
    level_G = _midpoints(0.0, 1.0, GRID_SIZES["linear_trend"])
    start_G2, end_G2 = (x.reshape(-1) for x in jnp.meshgrid(level_G, level_G, indexing="ij"))
    frac_T = jnp.linspace(0.0, 1.0, env.horizon, dtype=jnp.float32)
    means_TxG = start_G2 + (end_G2 - start_G2) * frac_T[:, None]
    loglik_TxAxG = _clipped_loglik(rewards_TxA[..., None], means_TxG[:, None, :], env.noise_std)
    penalty_TxA = _atom_penalty(rewards_TxA, atoms)
    return _grid_posterior(loglik_TxAxG - penalty_TxA[..., None], clipped_mean(means_TxG, env.noise_std))


def _iid(loglik_TxA: Array, mean: float) -> tuple[Array, Array]:
    """An i.i.d. family: evidence is the prefix sum of the log-likelihood; the predictive mean is constant."""
    return _exclusive_cumsum(jnp.sum(loglik_TxA, axis=-1)), jnp.full(loglik_TxA.shape, mean, jnp.float32)


def _uniform(env: Any, rewards_TxA: Array, atoms: Array) -> tuple[Array, Array]:
    """UniformFOL: density 1 on (0, 1), no atoms anywhere."""
    inside_TxA = (rewards_TxA > 0.0) & (rewards_TxA < 1.0)
    loglik_TxA = jnp.where(inside_TxA, 0.0, -jnp.inf) - _atom_penalty(rewards_TxA, atoms)
    return _iid(loglik_TxA, 0.5)


def _gaussian(env: Any, rewards_TxA: Array, atoms: Array) -> tuple[Array, Array]:
    """GaussianFOL: i.i.d. N(0, std^2) (no atoms)."""
    z_TxA = rewards_TxA / env.std
    loglik_TxA = -0.5 * z_TxA * z_TxA - _LOG_SQRT_2PI - math.log(env.std)
    on_atom_TxA = (rewards_TxA == 0.0) | (rewards_TxA == 1.0)
    return _iid(jnp.where(on_atom_TxA, -jnp.inf, loglik_TxA) - _atom_penalty(rewards_TxA, atoms), 0.0)


def ftl_adversarial_tables(env: Any) -> Array:
    """Every table (P, T, A) the FTL-adversarial scenario can draw, one per ordered pair (i, j), P = A (A - 1)."""
    pairs = [(i, j) for i in range(env.num_actions) for j in range(env.num_actions) if i != j]
    t_T = jnp.arange(env.horizon)
    first_T = jnp.where(t_T == 0, 0.5, (t_T % 2 == 0).astype(jnp.float32))
    second_T = (t_T % 2 == 1).astype(jnp.float32)
    base_TxA = jnp.full((env.horizon, env.num_actions), env.background, jnp.float32)
    return jnp.stack([base_TxA.at[:, i].set(first_T).at[:, j].set(second_T) for i, j in pairs])


def _ftl_adversarial(env: Any, rewards_TxA: Array, atoms: Array) -> tuple[Array, Array]:
    """FTLAdversarialFOL: exact enumeration of the pairs consistent with the rounds seen."""
    tables_PxTxA = ftl_adversarial_tables(env)
    match_PxT = jnp.all(tables_PxTxA == rewards_TxA, axis=-1)
    # consistent before t: every round s < t matched (exclusive cumulative product).
    consistent_PxT = jnp.cumprod(jnp.concatenate([jnp.ones_like(match_PxT[:, :1]), match_PxT[:, :-1]], 1), 1) > 0
    count_T = jnp.sum(consistent_PxT, axis=0)
    interior_T = jnp.sum((rewards_TxA > 0.0) & (rewards_TxA < 1.0), axis=-1).astype(jnp.float32)
    atoms_before_T = _exclusive_cumsum(interior_T)
    evidence_T = jnp.log(count_T / tables_PxTxA.shape[0]) + ATOM_LOG_DENSITY * atoms_before_T
    weights_PxT = jnp.where(count_T > 0, consistent_PxT / jnp.maximum(count_T, 1), 1.0 / tables_PxTxA.shape[0])
    return evidence_T, jnp.einsum("pt,pta->ta", weights_PxT, tables_PxTxA)


def _atom_penalty(rewards_TxA: Array, atoms: Array) -> Array:
    """ATOM_LOG_DENSITY where a reward sits exactly on an interior atom of another component, else 0."""
    if atoms.size == 0:
        return jnp.zeros_like(rewards_TxA)
    return ATOM_LOG_DENSITY * jnp.any(rewards_TxA[..., None] == atoms, axis=-1)


POSTERIORS: dict[type, Callable] = {
    envs.StochasticFOL: _stochastic,
    envs.SineTrendFOL: _sine_trend,
    envs.LinearTrendFOL: _linear_trend,
    envs.UniformFOL: _uniform,
    envs.GaussianFOL: _gaussian,
    envs.FTLAdversarialFOL: _ftl_adversarial,
}


def _interior_atoms(env: Any) -> tuple[float, ...]:
    """The exact reward values in (0, 1) a deterministic component can produce."""
    if isinstance(env, envs.FTLAdversarialFOL):
        return tuple(v for v in (0.5, float(env.background)) if 0.0 < v < 1.0)
    return ()


def _components(env: Any) -> tuple[tuple, tuple]:
    """(components, weights) of a mixture, or of a single scenario as a one-component mixture."""
    if isinstance(env, envs.MixtureFOL):
        return env.components, env.weights
    return (env,), (1.0,)


def check_supported(env: Any) -> None:
    """ValueError unless every component has a posterior here (and a noise level it can use)."""
    for comp in _components(env)[0]:
        if type(comp) not in POSTERIORS:
            raise ValueError(
                f"no Bayes posterior for FOL scenario {type(comp).__name__}; supported: "
                f"{sorted(c.__name__ for c in POSTERIORS)}."
            )
        if getattr(comp, "noise_std", 1.0) <= 0:
            raise ValueError(
                f"{type(comp).__name__} with noise_std = 0 has a degenerate likelihood; "
                "the Bayes posterior needs noise_std > 0."
            )


def posterior_predictive(env: Any, rewards_TxA: Array) -> tuple[Array, Array]:
    """(log evidence of r_<t per component (T, C), predictive mean E[r_t | r_<t] (T, A)) for one sequence."""
    comps, weights = _components(env)
    atoms = jnp.asarray(sorted({a for c in comps for a in _interior_atoms(c)}), jnp.float32)
    evidence, predictive = zip(*[POSTERIORS[type(c)](c, rewards_TxA, atoms) for c in comps], strict=True)
    evidence_TxC, predictive_TxAxC = jnp.stack(evidence, -1), jnp.stack(predictive, -1)
    # Data no component can produce (a measure-zero event, e.g. a float collision): fall back to the prior.
    possible_T = jnp.any(jnp.isfinite(evidence_TxC), axis=-1, keepdims=True)
    evidence_TxC = jnp.where(possible_T, evidence_TxC, 0.0)
    log_prior_C = jnp.log(jnp.asarray(weights, jnp.float32))
    post_TxC = jax.nn.softmax(evidence_TxC + log_prior_C, axis=-1)
    return evidence_TxC, jnp.einsum("tac,tc->ta", predictive_TxAxC, post_TxC)


def myopic_policy(predictive_TxA: Array) -> Array:
    """Uniform over the actions whose predictive mean is (within TIE_TOLERANCE of) the highest."""
    best_TxA = predictive_TxA >= jnp.max(predictive_TxA, axis=-1, keepdims=True) - TIE_TOLERANCE
    return best_TxA / jnp.sum(best_TxA, axis=-1, keepdims=True)


@functools.partial(jax.jit, static_argnames=("env", "chunk"))
def _bayes_batch(env: Any, rewards_NxTxA: Array, chunk: int) -> tuple[Array, Array]:
    """(policies, predictive means), each (N, T, A), chunked over sequences to bound memory."""

    def one(rewards_TxA):
        predictive_TxA = posterior_predictive(env, rewards_TxA)[1]
        return myopic_policy(predictive_TxA), predictive_TxA

    return jax.lax.map(one, rewards_NxTxA, batch_size=chunk)


def bayes_policies(
    env: Any, rewards: Array, chunk: int = 64, return_predictive: bool = False
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """The myopic Bayes policies (..., T, A) of scenario distribution `env` on reward tables (..., T, A).

    `env` fixes the horizon: at another horizon build the same scenario with that horizon (the trend
    families' means depend on t / T), and this is its Bayes policy there.
    """
    _check_rewards(rewards)
    check_supported(env)
    rewards = _as_float(rewards)
    if rewards.shape[-2:] != (env.horizon, env.num_actions):
        raise ValueError(
            f"rewards have (T, A) = {rewards.shape[-2:]} but the scenario has "
            f"{(env.horizon, env.num_actions)}; build the scenario at the rewards' horizon."
        )
    flat_NxTxA = rewards.reshape((-1,) + rewards.shape[-2:])
    policies, predictive = _bayes_batch(env, flat_NxTxA, int(min(chunk, flat_NxTxA.shape[0])))
    policies, predictive = policies.reshape(rewards.shape), predictive.reshape(rewards.shape)
    return (policies, predictive) if return_predictive else policies
