"""Bayes references for the NS-MAB training distribution: a particle filter on the AbruptNSMAB process.

The filter tracks P particles per run, each a mean vector and the number c of changes so far, under
the process's own dynamics (rmft_jax.envs.nonstationary.AbruptNSMAB): round 0's means are U[0, 1]^A;
the C change rounds are a uniform C-subset of 1..T-1, so given c changes before round t a change
happens at t with probability (C - c) / (T - t); a change moves the means toward a fresh U[0, 1]^A
target with the step's inf-norm capped at variation_budget / C. `update` of round t weights each
particle by the Bernoulli likelihood of the observed reward of the chosen arm, resamples (systematic,
every round, so the weights stay uniform) and moves the particles to round t + 1. `select` sees the
predictive particles of round t. State: means_AxNxP (particles on the minor axis, which the
resampling's cumsum and gather want), changes_NxP, and two (N,) key words. It is a bootstrap filter: exact as
P -> infinity, with Monte Carlo error and sample impoverishment (no rejuvenation step) at finite P.

Randomness: `update` gets no key in the Algorithm interface, so the filter's words are Threefry-2x32
keyed per run by (a hash of the run's history, a hash of its run index), with counter (round, tag):
the policy is a deterministic function of the history and the run index, and no counter is reused.
Thompson's particle draw uses jax.random with fold_in(draws.key, t).
Policies: abrupt_bayes_greedy (argmax predictive mean), abrupt_bayes_thompson (play the best arm of
one predictive particle) and abrupt_bayes_kg (one-step knowledge-gradient lookahead on the
predictive, weighted by the expected rounds left in the current segment). Each one's Bayes regret is
an upper bound on the Bayes-optimal regret.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from rmft_jax import _checks
from rmft_jax.baselines import bandits, counter_rng
from rmft_jax.baselines.bandit_bayes import check_integer, knowledge_gradient

Array = Any
_U32 = counter_rng.U32
_TAGS = 3  # counter x1 = round * _TAGS + tag: one stream per (round, use)
_RESAMPLE, _CHANGE, _TARGET = 0, 1, 2
_INIT_COUNTER = 0xFFFFFFFF  # round 0's particles: a counter no round reaches


def _words(keys: tuple, counter: Array, rows: int, num_runs: int, num_particles: int) -> Array:
    """Threefry words for one counter value -> (rows, N, P) uint32, both output words of each block used."""
    half = -(-num_particles // 2)
    x2_Rx1xH = jnp.arange(rows, dtype=_U32)[:, None, None] * _U32(half) + jnp.arange(half, dtype=_U32)
    keys_Nx1 = tuple(key_N[:, None] for key_N in keys)
    w1, w2 = counter_rng.threefry2x32(keys_Nx1, jnp.asarray(counter, _U32) + 0 * x2_Rx1xH, x2_Rx1xH)
    return jnp.concatenate([w1, w2], axis=-1)[..., :num_particles]


def _filter_init(num_runs: int, num_actions: int, hp: dict) -> bandits.State:
    """P particles per run with means U[0, 1]^A (means_AxNxP) and no change yet; the run keys."""
    run_key_N = counter_rng.mix32(jnp.arange(num_runs, dtype=_U32) * _U32(counter_rng.GOLDEN) + _U32(1))
    history_N = jnp.zeros((num_runs,), _U32)
    words = _words((history_N, run_key_N), _INIT_COUNTER, num_actions, num_runs, hp["num_particles"])
    return {
        "means": counter_rng.uniform(words),
        "changes": jnp.zeros((num_runs, hp["num_particles"]), jnp.float32),  # float: gathered with the means
        "history": history_N,
        "run_key": run_key_N,
    }


def systematic_resample(weights_NxP: Array, u_N: Array) -> Array:
    """Systematic resampling per run -> indices_NxP: the particles at positions (k + u) / P of the weight CDF.

    Particle i takes the positions in [cdf_{i-1}, cdf_i), so the positions before cdf_i number
    end_i = ceil(P cdf_i - u), and index k is #{i: end_i <= k}: a histogram and a cumsum, no search.
    """
    num_runs, num_particles = weights_NxP.shape
    total_Nx1 = jnp.sum(weights_NxP, axis=1, keepdims=True)
    # All-zero weights (a reward the particles deem impossible) fall back to uniform.
    weights_NxP = jnp.where(total_Nx1 > 0, weights_NxP, 1.0)
    cdf_NxP = jnp.cumsum(weights_NxP, axis=1) / jnp.sum(weights_NxP, axis=1, keepdims=True)
    end_NxP = jnp.clip(jnp.ceil(num_particles * cdf_NxP - u_N[:, None]), 0, num_particles).astype(jnp.int32)
    ends_NxQ = jnp.zeros((num_runs, num_particles + 1), jnp.int32).at[jnp.arange(num_runs)[:, None], end_NxP].add(1)
    return jnp.minimum(jnp.cumsum(ends_NxQ[:, :num_particles], axis=1), num_particles - 1)


def _propagate(means_AxNxP: Array, changes_NxP: Array, keys: tuple, t: Array, hp: dict) -> tuple[Array, Array]:
    """Move the particles from round t to round t + 1 under the process's change dynamics."""
    num_actions, num_runs, num_particles = means_AxNxP.shape
    rounds_left = hp["horizon"] - (t + 1)  # rounds t+1..T-1 hold the C - c changes still to come
    prob_NxP = jnp.where(rounds_left > 0, (hp["num_changes"] - changes_NxP) / jnp.maximum(rounds_left, 1), 0.0)
    change_words = _words(keys, t * _TAGS + _CHANGE, 1, num_runs, num_particles)[0]
    jump_NxP = counter_rng.uniform(change_words) < prob_NxP
    targets_AxNxP = counter_rng.uniform(_words(keys, t * _TAGS + _TARGET, num_actions, num_runs, num_particles))
    steps = [targets_AxNxP[a] - means_AxNxP[a] for a in range(num_actions)]
    # As AbruptNSMAB.sample: shrink the step so its inf-norm is at most budget / C (a convex step).
    # Max over arms as A - 1 elementwise maxima: XLA's CPU reductions over a major axis are far slower.
    size_NxP = functools.reduce(jnp.maximum, [jnp.abs(step_NxP) for step_NxP in steps])
    scale_NxP = jnp.minimum(1.0, hp["variation_budget"] / hp["num_changes"] / jnp.maximum(size_NxP, 1e-12))
    scale_NxP = jnp.where(jump_NxP, scale_NxP, 0.0)  # no change: a zero step
    moved_AxNxP = jnp.stack([jnp.clip(means_AxNxP[a] + scale_NxP * steps[a], 0.0, 1.0) for a in range(num_actions)])
    return moved_AxNxP, changes_NxP + jump_NxP


def _filter_update(state: bandits.State, t: Array, actions_N: Array, rewards_N: Array, hp: dict) -> bandits.State:
    """Weight by the Bernoulli likelihood of round t's reward, resample, move to round t + 1."""
    means_AxNxP, changes_NxP = state["means"], state["changes"]
    num_actions, num_runs, num_particles = means_AxNxP.shape
    observation_N = actions_N.astype(_U32) * _U32(counter_rng.GOLDEN) ^ jax.lax.bitcast_convert_type(
        rewards_N.astype(jnp.float32), _U32
    )
    history_N = counter_rng.mix32(state["history"] ^ counter_rng.mix32(observation_N))
    keys = (history_N, state["run_key"])
    chosen_NxP = means_AxNxP[0]
    for a in range(1, num_actions):  # a select per arm, not a gather
        chosen_NxP = jnp.where(actions_N[:, None] == a, means_AxNxP[a], chosen_NxP)
    likelihood_NxP = rewards_N[:, None] * chosen_NxP + (1.0 - rewards_N[:, None]) * (1.0 - chosen_NxP)
    u_N = counter_rng.uniform(_words(keys, t * _TAGS + _RESAMPLE, 1, num_runs, 1)[0, :, 0])
    indices_NxP = systematic_resample(likelihood_NxP, u_N)
    # One flat gather for the means and the change counts (stacked): cheaper than take_along_axis on CPU.
    flat_indices = (indices_NxP + num_particles * jnp.arange(num_runs)[:, None]).reshape(-1)
    stacked_BxM = jnp.concatenate([means_AxNxP, changes_NxP[None]]).reshape(num_actions + 1, -1)
    stacked_BxNxP = stacked_BxM[:, flat_indices].reshape(num_actions + 1, num_runs, num_particles)
    means_AxNxP, changes_NxP = _propagate(stacked_BxNxP[:-1], stacked_BxNxP[-1], keys, t, hp)
    return {"means": means_AxNxP, "changes": changes_NxP, "history": history_N, "run_key": state["run_key"]}


def predictive_means(state: bandits.State) -> Array:
    """The filter's predictive mean of each arm's mean this round -> (A, N)."""
    return jnp.mean(state["means"], axis=2)


def _greedy_select(state: bandits.State, t: Array, draws: bandits.Draws, hp: dict) -> Array:
    """Argmax of the predictive mean, ties at random."""
    return counter_rng.random_argmax(draws.ties, predictive_means(state))


def _thompson_select(state: bandits.State, t: Array, draws: bandits.Draws, hp: dict) -> Array:
    """Draw one predictive particle (uniform weights after resampling) and play its best arm."""
    means_AxNxP = state["means"]
    pick_N = jax.random.randint(jax.random.fold_in(draws.key, t), means_AxNxP.shape[1:2], 0, means_AxNxP.shape[2])
    sample_AxN = jnp.take_along_axis(means_AxNxP, pick_N[None, :, None], axis=2)[..., 0]
    return counter_rng.random_argmax(draws.ties, sample_AxN)


def _second_moments(means_AxNxP: Array) -> Array:
    """Predictive E[mu_a mu_b] -> (A, A, N), one product per pair a <= b."""
    num_actions = means_AxNxP.shape[0]
    pairs = {
        (a, b): jnp.mean(means_AxNxP[a] * means_AxNxP[b], axis=1)
        for a in range(num_actions)
        for b in range(a, num_actions)
    }
    return jnp.stack([jnp.stack([pairs[min(a, b), max(a, b)] for b in range(num_actions)]) for a in range(num_actions)])


def _kg_select(state: bandits.State, t: Array, draws: bandits.Draws, hp: dict) -> Array:
    """argmax_a mean_a + L KG_a, L = E[rounds after t in the current segment] under the filter.

    Information about this segment's means is worth nothing after the next change, so the lookahead
    weight is the expected number of later rounds before it, not all T - t - 1: with k = C - c changes
    still to come, uniform among the M = T - t - 1 later rounds, that is (M - k) / (k + 1).
    """
    means_AxN = predictive_means(state)
    later = jnp.maximum(hp["horizon"] - t - 1, 0).astype(jnp.float32)
    to_come_NxP = hp["num_changes"] - state["changes"]
    lookahead_N = jnp.mean(jnp.maximum(later - to_come_NxP, 0.0) / (to_come_NxP + 1.0), axis=1)
    kg_AxN = knowledge_gradient(means_AxN, _second_moments(state["means"]))
    return counter_rng.random_argmax(draws.ties, means_AxN + lookahead_N * kg_AxN)


def _check_abrupt(hp: dict) -> None:
    """num_changes in 1..horizon-1, variation_budget > 0, num_particles >= 1."""
    check_integer("horizon", hp["horizon"], 2, "the AbruptNSMAB horizon T of the filter's change dynamics")
    check_integer("num_changes", hp["num_changes"], 1, "the AbruptNSMAB number of change points C")
    if hp["num_changes"] > hp["horizon"] - 1:
        raise ValueError(
            f"num_changes must be at most horizon - 1 = {hp['horizon'] - 1} (changes happen at "
            f"distinct rounds 1..T-1), got {hp['num_changes']!r}."
        )
    _checks.check_positive("variation_budget", hp["variation_budget"])
    check_integer("num_particles", hp["num_particles"], 1, "the particles per run of the filter")


def _abrupt_defaults(horizon: int, num_actions: int) -> dict:
    """The NS-MAB training distribution (4 changes, budget 2) over the run's horizon; 512 particles."""
    return {"num_changes": min(4, horizon - 1), "variation_budget": 2.0, "horizon": horizon, "num_particles": 512}


# unit_rewards: run_bandit rejects reward tables outside [0, 1], which the Bernoulli likelihood cannot take.
ABRUPT_ALGORITHMS = {
    f"abrupt_bayes_{name}": bandits.Algorithm(
        _filter_init, select, _filter_update, _abrupt_defaults, _check_abrupt, unit_rewards=True
    )
    for name, select in (("greedy", _greedy_select), ("thompson", _thompson_select), ("kg", _kg_select))
}
bandits.register(ABRUPT_ALGORITHMS)
