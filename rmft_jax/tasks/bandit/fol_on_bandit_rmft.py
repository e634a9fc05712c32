"""Iterative RMFT on MAB for a full-information model: the loop's task for "train on FOL, then RMFT on MAB".

The FOL model keeps its input format: each rollout plays a bandit through importance-weighted reward
estimates (`fol_on_bandit.importance_weighted_rollout`), and the SFT row of a kept rollout is its
table of estimates (T, A) as input with its actions as targets. A full pass over that table gives
the same logits as the recurrent play (round t sees the estimates of rounds < t), so SFT imitates the
kept play exactly as it was generated. Selection is by pseudo-regret (regret from the means).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from rmft_jax import models, regret
from rmft_jax.core import loop, selection
from rmft_jax.tasks.bandit import fol_on_bandit


@dataclasses.dataclass(frozen=True)
class FOLOnBanditTask:
    """M bandit instances from `env`, L importance-weighted rollouts of each (one reward draw per instance)."""

    env: Any
    graphdef: Any
    num_scenarios: int
    num_rollouts: int
    temperature: float = 1.0
    gamma: float = 0.0

    def rollout(self, params, key_env, key_roll) -> loop.Rollouts:
        """Play M * L runs; regret (M, L) is the pseudo-regret at T, reward (M, L) the total observed reward."""
        m, num_rollouts = self.num_scenarios, self.num_rollouts
        scen = jax.vmap(self.env.sample)(jax.random.split(key_env, m))
        means_BxTxA = jnp.repeat(scen.means_TxA, num_rollouts, axis=0)
        traj = fol_on_bandit.importance_weighted_rollout(
            self.graphdef,
            params,
            jnp.repeat(scen.rewards_TxA, num_rollouts, axis=0),
            key_roll,
            self.temperature,
            self.gamma,
        )
        regret_MxL = regret.pseudo_regret(means_BxTxA, traj.actions_BxT)[:, -1].reshape(m, num_rollouts)
        reward_MxL = jnp.sum(traj.rewards_BxT, axis=-1).reshape(m, num_rollouts)
        return loop.Rollouts(
            regret_MxL,
            reward_MxL,
            (
                traj.actions_BxT.reshape(m, num_rollouts, -1),
                estimates(traj).reshape((m, num_rollouts) + traj.probs_BxTxA.shape[1:]),
            ),
        )

    def sft_batch(self, rolls: loop.Rollouts, keep_Mxk) -> loop.SFTBatch:
        """One row per kept rollout: its estimate table (T, A) as input, its actions one-hot as targets."""
        actions_MxLxT, estimates_MxLxTxA = rolls.data
        num_actions = estimates_MxLxTxA.shape[-1]
        rows = keep_Mxk.size
        inputs_BxTxA = selection.gather_rollouts(estimates_MxLxTxA, keep_Mxk).reshape(
            (rows,) + estimates_MxLxTxA.shape[2:]
        )
        actions_BxT = selection.gather_rollouts(actions_MxLxT, keep_Mxk).reshape(rows, -1)
        return loop.SFTBatch(inputs_BxTxA, jax.nn.one_hot(actions_BxT, num_actions, dtype=inputs_BxTxA.dtype), None)

    def apply(self, params, inputs_BxTxA):
        """The FOL model's logits (B, T, A) on estimate tables."""
        return models.apply(self.graphdef, params, inputs_BxTxA)

    def shard(self, x):
        """No device mesh: identity."""
        return x


def estimates(traj: fol_on_bandit.IWTrajectories) -> jax.Array:
    """The importance-weighted estimates (B, T, A) the model absorbed: r_t(a_t) / p_t(a_t) on a_t, 0 elsewhere."""
    num_actions = traj.probs_BxTxA.shape[-1]
    onehot_BxTxA = jax.nn.one_hot(traj.actions_BxT, num_actions, dtype=traj.probs_BxTxA.dtype)
    played_prob_BxT = jnp.sum(onehot_BxTxA * traj.probs_BxTxA, axis=-1)
    return onehot_BxTxA * (traj.rewards_BxT / played_prob_BxT)[..., None]
