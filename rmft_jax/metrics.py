"""Exploration diagnostics of Krishnamurthy et al. (arXiv 2403.15371), on device and batched over runs.

Round indices are 0-indexed: `actions_NxT[:, t]` is round t. `suff_fail_freq(..., t)` looks at rounds
t..T-1 (so t = T // 2 is the second half; the paper's 1-indexed SuffFailFreq(t) is our t - 1), and
`k_min_frac(..., t)` / `greedy_frac(..., t)` look at the first t rounds (0..t-1).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import _checks

Array = Any


def _check_actions(actions_NxT: Array, num_actions: int | None = None) -> None:
    """Validate an (N, T) integer action array (and its range, when concrete and A is known)."""
    if np.ndim(actions_NxT) != 2:
        raise ValueError(f"actions must have shape (N, T) (runs x rounds), got shape {np.shape(actions_NxT)}.")
    if not jnp.issubdtype(jnp.result_type(actions_NxT), jnp.integer):
        raise ValueError(f"actions must hold integer arm indices, got dtype {jnp.result_type(actions_NxT)}.")
    if num_actions is None:
        return
    if int(num_actions) != num_actions or num_actions < 2:
        raise ValueError(f"num_actions must be an integer >= 2, got {num_actions!r}.")
    _checks.check_in_range("actions (arm indices)", actions_NxT, 0, num_actions - 1)


def _check_round(name: str, t: int, low: int, high: int) -> None:
    """Raise ValueError unless the round index t is an integer in [low, high]."""
    if isinstance(t, bool) or int(t) != t or not low <= t <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}] for these actions, got {t!r}.")


@functools.partial(jax.jit, static_argnames=("t",))
def _suff_fail(actions_NxT: Array, best_N: Array, t: int) -> jax.Array:
    """Mean over runs of 1{best arm never played in rounds t..T-1}."""
    played_N = jnp.any(actions_NxT[:, t:] == best_N[:, None], axis=1)
    return jnp.mean(~played_N)


def suff_fail_freq(actions_NxT: Array, best_arm: Array, t: int) -> jax.Array:
    """Fraction of runs whose best arm is never chosen in rounds t..T-1 (0-indexed); best_arm: () or (N,)."""
    _check_actions(actions_NxT)
    num_runs, horizon = np.shape(actions_NxT)
    _check_round("t (first round of the tail window, 0-indexed)", t, 0, horizon - 1)
    if np.ndim(best_arm) > 1 or (np.ndim(best_arm) == 1 and np.shape(best_arm)[0] != num_runs):
        raise ValueError(f"best_arm must be a scalar or have shape (N,) = ({num_runs},), got {np.shape(best_arm)}.")
    best_N = jnp.broadcast_to(jnp.asarray(best_arm, jnp.int32), (num_runs,))
    return _suff_fail(jnp.asarray(actions_NxT), best_N, int(t))


@functools.partial(jax.jit, static_argnames=("num_actions", "t"))
def _k_min_frac(actions_NxT: Array, num_actions: int, t: int) -> jax.Array:
    """Mean over runs of K * min_a (pulls of a in rounds 0..t-1) / t."""
    counts_NxA = jnp.sum(jax.nn.one_hot(actions_NxT[:, :t], num_actions, dtype=jnp.float32), axis=1)
    return jnp.mean(num_actions * jnp.min(counts_NxA, axis=1) / t)


def k_min_frac(actions_NxT: Array, num_actions: int, t: int) -> jax.Array:
    """K * min_a (fraction of the first t rounds in which arm a was chosen), averaged over runs; t in [1, T]."""
    _check_actions(actions_NxT, num_actions)
    _check_round("t (number of leading rounds)", t, 1, np.shape(actions_NxT)[1])
    return _k_min_frac(jnp.asarray(actions_NxT), int(num_actions), int(t))


def _greedy_mask(actions_NxT: Array, rewards_NxT: Array, num_actions: int) -> jax.Array:
    """(N, T) bool: was round t's arm greedy, i.e. of highest mean reward over rounds < t (untried = +inf)?"""
    onehot_NxTxA = jax.nn.one_hot(actions_NxT, num_actions, dtype=jnp.float32)
    # Exclusive cumulative sums: the statistics the learner had before choosing in round t.
    counts_NxTxA = jnp.cumsum(onehot_NxTxA, axis=1) - onehot_NxTxA
    gains_NxTxA = onehot_NxTxA * rewards_NxT[..., None]
    sums_NxTxA = jnp.cumsum(gains_NxTxA, axis=1) - gains_NxTxA
    means_NxTxA = jnp.where(counts_NxTxA > 0, sums_NxTxA / jnp.maximum(counts_NxTxA, 1.0), jnp.inf)
    chosen_NxT = jnp.take_along_axis(means_NxTxA, actions_NxT[..., None], axis=2)[..., 0]
    return chosen_NxT >= jnp.max(means_NxTxA, axis=2)


@functools.partial(jax.jit, static_argnames=("num_actions", "t"))
def _greedy_frac(actions_NxT: Array, rewards_NxT: Array, num_actions: int, t: int) -> jax.Array:
    """Mean over runs and rounds 0..t-1 of the greedy indicator."""
    return jnp.mean(_greedy_mask(actions_NxT[:, :t], rewards_NxT[:, :t], num_actions))


def greedy_frac(actions_NxT: Array, rewards_NxT: Array, num_actions: int, t: int | None = None) -> jax.Array:
    """Fraction of rounds 0..t-1 (default all T) whose chosen arm had the highest empirical mean so far.

    An arm not yet pulled counts as greedy (its mean is taken as +inf), so while some arm is untried
    only untried arms are greedy and Greedy with one initial pull per arm scores 1.0. A chosen arm
    tied for the highest mean counts as greedy.
    """
    _check_actions(actions_NxT, num_actions)
    _checks.check_same_shape("actions", actions_NxT, "rewards", rewards_NxT)
    horizon = np.shape(actions_NxT)[1]
    t = horizon if t is None else t
    _check_round("t (number of leading rounds)", t, 1, horizon)
    rewards_NxT = jnp.asarray(rewards_NxT, jnp.float32)
    return _greedy_frac(jnp.asarray(actions_NxT), rewards_NxT, int(num_actions), int(t))


def exploration_stats(actions_NxT: Array, rewards_NxT: Array, best_arm: Array, num_actions: int) -> dict:
    """SuffFailFreq and K*MinFrac at T/2 and T, and GreedyFrac over all rounds, as a dict of scalars.

    Keys: suff_fail_freq_half (best arm never played in the second half, rounds T//2..T-1),
    suff_fail_freq_end (never played in the last round), k_min_frac_half (first T//2 rounds),
    k_min_frac_end (all T rounds; the K*MinFrac that Krishnamurthy et al. tabulate), greedy_frac
    (all T rounds).
    """
    _check_actions(actions_NxT, num_actions)
    horizon = np.shape(actions_NxT)[1]
    half = horizon // 2
    return {
        "suff_fail_freq_half": suff_fail_freq(actions_NxT, best_arm, half),
        "suff_fail_freq_end": suff_fail_freq(actions_NxT, best_arm, horizon - 1),
        "k_min_frac_half": k_min_frac(actions_NxT, num_actions, half),
        "k_min_frac_end": k_min_frac(actions_NxT, num_actions, horizon),
        "greedy_frac": greedy_frac(actions_NxT, rewards_NxT, num_actions),
    }


def gap_closed(initial: float, model: float, limit: float) -> float:
    """Share of the initial-to-limit gap closed: (initial - model) / (initial - limit); nan when the gap is 0.

    With a limit that is itself an upper bound on the optimum (the informed bandit policies), values
    above 1 can happen and are reported as measured."""
    denominator = initial - limit
    return float("nan") if denominator == 0 else float((initial - model) / denominator)
