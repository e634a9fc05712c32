"""A straightforward JAX implementation of one FOL RMFT iteration: the baseline of `bench_rmft`.

The same algorithm as `rmft_jax.tasks.fol.task.make_iteration` (M scenarios, L sampled rollouts each, keep
the k lowest-regret, cross-entropy SFT with Adam), written the way one would first write it:

  rollout: a `lax.scan` over rounds; round t calls the model on the prefix (rounds >= t masked out)
      and reads round t's logits, so T rounds cost T full forward passes;
  selection: argsort of each scenario's regrets, gather the k kept action sequences;
  SFT: a Python for-loop over a jitted single optimizer step on the M*k kept trajectories
      (one forward pass per trajectory, one-hot targets), one dispatch per step.

It uses the same model, env sampler, optimizer and loss definition, so its policies and losses equal
ours (`bench_rmft` checks both); only the way the work is organized differs.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from rmft_jax import models


def make_naive_iteration(env: Any, graphdef: Any, optimizer: optax.GradientTransformation, s: Any) -> dict:
    """Jitted pieces {'rollout', 'select', 'sft_step'} and the Python-driven 'iteration' that chains them."""

    def apply_fn(p, x):
        return models.apply(graphdef, p, x)

    num, horizon, num_actions = s.num_scenarios, s.horizon, s.num_actions

    @jax.jit
    def rollout(params, key_env, key_roll):
        """Per-round scan: round t's policy from a forward pass over the masked prefix."""
        rewards_MxTxA = jax.vmap(env.sample)(jax.random.split(key_env, num))

        def round_fn(total_MxL, t):
            prefix_MxTxA = jnp.where((jnp.arange(horizon) < t)[None, :, None], rewards_MxTxA, 0.0)
            logits_MxA = jax.lax.dynamic_index_in_dim(apply_fn(params, prefix_MxTxA), t, axis=1, keepdims=False)
            key_t = jax.random.fold_in(key_roll, t)
            actions_MxL = jax.random.categorical(
                key_t, logits_MxA[:, None] / s.temperature, axis=-1, shape=(num, s.num_rollouts)
            )
            reward_t_MxA = jax.lax.dynamic_index_in_dim(rewards_MxTxA, t, axis=1, keepdims=False)
            gained_MxL = jnp.take_along_axis(reward_t_MxA, actions_MxL, axis=1)
            return total_MxL + gained_MxL, (actions_MxL, logits_MxA)

        total_MxL, (actions_TxMxL, logits_TxMxA) = jax.lax.scan(
            round_fn, jnp.zeros((num, s.num_rollouts)), jnp.arange(horizon)
        )
        regret_MxL = jnp.max(jnp.sum(rewards_MxTxA, axis=1), axis=-1)[:, None] - total_MxL
        return rewards_MxTxA, jnp.transpose(actions_TxMxL, (1, 2, 0)), regret_MxL, jnp.swapaxes(logits_TxMxA, 0, 1)

    @jax.jit
    def select(rewards_MxTxA, actions_MxLxT, regret_MxL):
        """The k lowest-regret trajectories, flattened into a batch of M*k (inputs, one-hot targets)."""
        keep_Mxk = jnp.argsort(regret_MxL, axis=1)[:, : s.num_selected]
        kept_MxkxT = jnp.take_along_axis(actions_MxLxT, keep_Mxk[:, :, None], axis=1)
        inputs_BxTxA = jnp.repeat(rewards_MxTxA, s.num_selected, axis=0)
        return inputs_BxTxA, jax.nn.one_hot(kept_MxkxT.reshape(-1, horizon), num_actions)

    def loss_fn(params, inputs_BxTxA, targets_BxTxA):
        """Mean cross-entropy over kept trajectories and rounds."""
        log_probs = jax.nn.log_softmax(apply_fn(params, inputs_BxTxA) / s.temperature, axis=-1)
        return -jnp.mean(jnp.sum(targets_BxTxA * log_probs, axis=-1))

    @jax.jit
    def sft_step(params, opt_state, inputs_BxTxA, targets_BxTxA):
        """One Adam step on the kept trajectories."""
        loss, grads = jax.value_and_grad(loss_fn)(params, inputs_BxTxA, targets_BxTxA)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def iteration(params, opt_state, key):
        """One outer iteration, driven from Python."""
        key_env, key_roll = jax.random.split(key)
        rewards_MxTxA, actions_MxLxT, regret_MxL, _ = rollout(params, key_env, key_roll)
        inputs_BxTxA, targets_BxTxA = select(rewards_MxTxA, actions_MxLxT, regret_MxL)
        for _ in range(s.sft_steps):
            params, opt_state, loss = sft_step(params, opt_state, inputs_BxTxA, targets_BxTxA)
        return params, opt_state, {"rollout_regret": jnp.mean(regret_MxL), "sft_loss": loss}

    return {
        "rollout": rollout,
        "select": select,
        "sft_step": sft_step,
        "loss": jax.jit(loss_fn),
        "iteration": iteration,
    }
