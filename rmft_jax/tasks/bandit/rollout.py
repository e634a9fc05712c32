"""Sequential bandit rollouts of a model: one `lax.scan` over rounds with the model's recurrent cache.

Bandit feedback depends on the learner's own actions, so round t's input exists only after round t's
action is sampled. Each scan step samples a_t ~ softmax(logits_t / temperature), reveals
rewards[t, a_t], and feeds that round's token to `models.step`, which updates the cache (linear
attention: its running sum, O(1); transformer: its key/value cache, O(t)); the prefix is never
recomputed. `teacher_forced_logits` is the uncached full forward pass on given actions (SFT and tests).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rmft_jax import models
from rmft_jax.tasks.bandit import tokens as bandit_tokens


class BanditTrajectories(NamedTuple):
    """B rollouts: sampled actions (B, T), observed rewards (B, T), and the logits they were drawn from."""

    actions_BxT: jax.Array
    rewards_BxT: jax.Array
    logits_BxTxA: jax.Array


def rollout(
    graphdef, params, rewards_BxTxA: jax.Array, key: jax.Array, temperature: float = 1.0, time_feature: bool = False
) -> BanditTrajectories:
    """Roll the model out on B pre-drawn reward tables (B, T, A); round t's action uses round keys[t]."""
    num, horizon, num_actions = rewards_BxTxA.shape
    state = models.init_state(graphdef, params, (num,), horizon)
    logits_BxA = models.readout(graphdef, params, state)
    keys_T = jax.random.split(key, horizon)
    rewards_TxBxA = jnp.swapaxes(rewards_BxTxA, 0, 1)

    def act(logits_BxA, key_t, rewards_BxA):
        """Sample the round's actions and reveal their rewards."""
        actions_B = jax.random.categorical(key_t, logits_BxA / temperature, axis=-1)
        return actions_B, jnp.take_along_axis(rewards_BxA, actions_B[:, None], axis=-1)[:, 0]

    def round_fn(carry, xs):
        """Round t: act, then absorb the round's token (the transformer's cache has no slot after T-1)."""
        state, logits_BxA = carry
        t, key_t, rewards_BxA = xs
        actions_B, observed_B = act(logits_BxA, key_t, rewards_BxA)
        token_BxD = bandit_tokens.encode(
            actions_B[:, None], observed_B[:, None], num_actions, time_feature, horizon, first_round=t
        )[:, 0]
        next_logits_BxA, state = models.step(graphdef, params, state, token_BxD)
        return (state, next_logits_BxA), (actions_B, observed_B, logits_BxA)

    xs = (jnp.arange(horizon - 1), keys_T[:-1], rewards_TxBxA[:-1])
    (_, last_logits_BxA), (actions_TxB, observed_TxB, logits_TxBxA) = jax.lax.scan(round_fn, (state, logits_BxA), xs)
    last_actions_B, last_observed_B = act(last_logits_BxA, keys_T[-1], rewards_TxBxA[-1])
    actions_BxT = jnp.concatenate([actions_TxB.T, last_actions_B[:, None]], axis=1)
    rewards_BxT = jnp.concatenate([observed_TxB.T, last_observed_B[:, None]], axis=1)
    logits_BxTxA = jnp.concatenate([jnp.swapaxes(logits_TxBxA, 0, 1), last_logits_BxA[:, None]], axis=1)
    return BanditTrajectories(actions_BxT, rewards_BxT, logits_BxTxA)


def teacher_forced_logits(
    graphdef, params, actions_xT: jax.Array, rewards_xT: jax.Array, num_actions: int, time_feature: bool = False
) -> jax.Array:
    """Logits (..., T, A) of every round from one causal forward pass over the given trajectory."""
    tokens_xTxD = bandit_tokens.encode(actions_xT, rewards_xT, num_actions, time_feature)
    return models.apply(graphdef, params, tokens_xTxD)
