"""Train on FOL, play on MAB: a full-information policy plays a bandit through importance-weighted rewards.

The policy was trained on whole reward vectors r_t. With bandit feedback it sees only r_t(a_t), so each
round it is fed EXP3's unbiased estimate r_hat_t = r_t(a_t) / p_t(a_t) on the played arm and 0 elsewhere
(E[r_hat_t(a)] = r_t(a)), through its recurrent form (`models.step`): round t samples a_t from
p_t = (1 - gamma) softmax(logits_t / temperature) + gamma / A, reveals the table's reward, absorbs the
estimate. With Hedge's parameters (`models.hedge_params`) this is exactly EXP3 (gamma = exploration).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rmft_jax import models
from rmft_jax.tasks.fol import rollout


class IWTrajectories(NamedTuple):
    """B bandit runs: actions (B, T), observed rewards (B, T), the played policies (B, T, A)."""

    actions_BxT: jax.Array
    rewards_BxT: jax.Array
    probs_BxTxA: jax.Array


def importance_weighted_rollout(
    graphdef, params, rewards_BxTxA: jax.Array, key: jax.Array, temperature: float = 1.0, gamma: float = 0.0
) -> IWTrajectories:
    """Play B pre-drawn reward tables (B, T, A) with bandit feedback and importance-weighted inputs."""
    num, horizon, num_actions = rewards_BxTxA.shape
    state = models.init_state(graphdef, params, (num,), horizon)
    uniforms_TxB = jax.random.uniform(key, (horizon, num))

    def round_fn(carry, xs):
        state, logits_BxA = carry
        u_B, rewards_BxA = xs
        probs_BxA = (1 - gamma) * jax.nn.softmax(logits_BxA / temperature, axis=-1) + gamma / num_actions
        actions_B = rollout.inverse_cdf_sample(probs_BxA, u_B)
        onehot_BxA = jax.nn.one_hot(actions_B, num_actions, dtype=rewards_BxA.dtype)
        observed_B = jnp.sum(onehot_BxA * rewards_BxA, axis=-1)
        estimate_BxA = onehot_BxA * (observed_B / jnp.sum(onehot_BxA * probs_BxA, axis=-1))[:, None]
        logits_BxA, state = models.step(graphdef, params, state, estimate_BxA)
        return (state, logits_BxA), (actions_B, observed_B, probs_BxA)

    init = (state, models.readout(graphdef, params, state))
    _, (actions_TxB, observed_TxB, probs_TxBxA) = jax.lax.scan(
        round_fn, init, (uniforms_TxB, jnp.swapaxes(rewards_BxTxA, 0, 1))
    )
    return IWTrajectories(actions_TxB.T, observed_TxB.T, jnp.swapaxes(probs_TxBxA, 0, 1))
