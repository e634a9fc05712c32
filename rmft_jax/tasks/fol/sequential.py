"""Sequential FOL rollouts: rewards chosen each round by an adversary that sees the learner.

When round t's reward vector depends on the learner (its policy pi_t or its sampled actions a_{<t}),
the one causal pass of `rollout.fol_rollouts` does not apply: the table exists only after it is
played. `sequential_rollout` is a `lax.scan` over rounds with the model's recurrent form
(`models.step`: O(1) per round for linear attention, a key/value cache for the transformer), as the
bandit rollouts are. Actions are drawn by inverse CDF from one uniform per round and rollout, so a
rollout on a fixed table equals the one-pass policies sampled with the same uniforms (a test).

`adaptive_rollouts` plays the training mix of adaptive scenarios: each scenario has an adversary
kind from `rmft_jax.attacks.adaptive`, a probability q that a round is adversarial (else a uniform
random vector, drawn per scenario so its L rollouts share it) and a pair for `alternating_pair`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from rmft_jax import models
from rmft_jax.attacks import adaptive
from rmft_jax.tasks.fol import rollout


class PathRollouts(NamedTuple):
    """Rollouts that each have their own reward table: tables (..., T, A), actions (..., T), realized
    regret/reward (...).

    The leading axes are (B,) as played; `fol.make_phases` regroups them to (P, L) per scenario.
    """

    tables_xTxA: jax.Array
    actions_xT: jax.Array
    regret_x: jax.Array
    reward_x: jax.Array


def sequential_rollout(
    graphdef,
    params,
    reward_fn: Callable[[jax.Array, adaptive.AdversaryView], jax.Array],
    pair_Bx2: jax.Array,
    horizon: int,
    num_actions: int,
    uniforms_BxT: jax.Array,
    temperature: float = 1.0,
) -> tuple[PathRollouts, jax.Array]:
    """Play B rollouts against `reward_fn(t, view) -> rewards (B, A)`: (PathRollouts, logits (B, T, A))."""
    batch = pair_Bx2.shape[0]
    state = models.init_state(graphdef, params, (batch,), horizon)
    logits_BxA = models.readout(graphdef, params, state)

    def play_round(t, logits_BxA, counts_BxA, last_B, u_B):
        """The round's view, rewards and sampled actions."""
        probs_BxA = jax.nn.softmax(logits_BxA / temperature, axis=-1)
        rewards_BxA = reward_fn(t, adaptive.AdversaryView(t, probs_BxA, counts_BxA, last_B, pair_Bx2))
        actions_B = rollout.inverse_cdf_sample(probs_BxA, u_B)
        return rewards_BxA.astype(logits_BxA.dtype), actions_B

    def round_fn(carry, xs):
        state, logits_BxA, counts_BxA, last_B = carry
        t, u_B = xs
        rewards_BxA, actions_B = play_round(t, logits_BxA, counts_BxA, last_B, u_B)
        next_logits_BxA, state = models.step(graphdef, params, state, rewards_BxA)
        counts_BxA = counts_BxA + jax.nn.one_hot(actions_B, num_actions, dtype=counts_BxA.dtype)
        return (state, next_logits_BxA, counts_BxA, actions_B), (rewards_BxA, actions_B, logits_BxA)

    counts_BxA = jnp.zeros((batch, num_actions), logits_BxA.dtype)
    init = (state, logits_BxA, counts_BxA, jnp.zeros((batch,), jnp.int32))
    # The transformer's cache has no slot after round T-1, so the last round is played outside the scan.
    xs = (jnp.arange(horizon - 1), uniforms_BxT[:, :-1].T)
    (_, last_logits, counts_BxA, last_B), (rewards_TxBxA, actions_TxB, logits_TxBxA) = jax.lax.scan(round_fn, init, xs)
    last_rewards, last_actions = play_round(
        jnp.asarray(horizon - 1), last_logits, counts_BxA, last_B, uniforms_BxT[:, -1]
    )
    tables_BxTxA = jnp.concatenate([jnp.swapaxes(rewards_TxBxA, 0, 1), last_rewards[:, None]], axis=1)
    actions_BxT = jnp.concatenate([actions_TxB.T, last_actions[:, None]], axis=1)
    logits_BxTxA = jnp.concatenate([jnp.swapaxes(logits_TxBxA, 0, 1), last_logits[:, None]], axis=1)
    return PathRollouts(
        tables_BxTxA, actions_BxT, *rollout.sampled_regret_and_reward(tables_BxTxA, actions_BxT)
    ), logits_BxTxA


class AdaptiveScenarios(NamedTuple):
    """M adaptive scenarios: adversary kind index (M,), adversarial-round probability q (M,), pair (M, 2), key (M,)."""

    kind_M: jax.Array
    q_M: jax.Array
    pair_Mx2: jax.Array
    keys_M: jax.Array


def sample_adaptive(
    key: jax.Array, num: int, num_kinds: int, num_actions: int, q_range: tuple[float, float]
) -> AdaptiveScenarios:
    """Draw `num` adaptive scenarios: a kind uniformly, q ~ U[q_range], a random ordered pair."""
    key_kind, key_q, key_pair, key_noise = jax.random.split(key, 4)
    kind_M = jax.random.randint(key_kind, (num,), 0, num_kinds)
    q_M = jax.random.uniform(key_q, (num,), minval=q_range[0], maxval=q_range[1])
    pair_Mx2 = jax.vmap(lambda k: jax.random.choice(k, num_actions, (2,), replace=False))(
        jax.random.split(key_pair, num)
    ).astype(jnp.int32)
    return AdaptiveScenarios(kind_M, q_M, pair_Mx2, jax.random.split(key_noise, num))


def adaptive_rollouts(
    graphdef,
    params,
    scen: AdaptiveScenarios,
    kinds: Sequence[str],
    horizon: int,
    num_actions: int,
    num_rollouts: int,
    key: jax.Array,
    temperature: float = 1.0,
) -> PathRollouts:
    """L sequential rollouts per adaptive scenario; leaves are (M, L, ...)."""
    num = scen.kind_M.shape[0]

    def repeat(x):  # scenario m -> rows m L .. m L + L - 1
        return jnp.repeat(x, num_rollouts, axis=0)

    q_B, keys_B = repeat(scen.q_M), repeat(scen.keys_M)
    adversary = adaptive.by_row(repeat(scen.kind_M), tuple(kinds))

    def reward_fn(t, view):
        # One coin and one random vector per scenario and round: the L rollouts of a scenario share them.
        round_keys_B = jax.vmap(lambda k: jax.random.fold_in(k, t))(keys_B)
        coin_B, noise_BxA = jax.vmap(
            lambda k: (jax.random.uniform(k), jax.random.uniform(jax.random.fold_in(k, 1), (num_actions,)))
        )(round_keys_B)
        return jnp.where((coin_B < q_B)[:, None], adversary(view), noise_BxA)

    uniforms_BxT = jax.random.uniform(key, (num * num_rollouts, horizon))
    paths, _ = sequential_rollout(
        graphdef, params, reward_fn, repeat(scen.pair_Mx2), horizon, num_actions, uniforms_BxT, temperature
    )
    return jax.tree.map(lambda x: x.reshape((num, num_rollouts) + x.shape[1:]), paths)
