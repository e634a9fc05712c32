"""The regret-loss (Park et al., arXiv 2403.16843) as an update rule: minimize the policy's expected regret by gradient.

On full-information online learning the expected regret of the policies softmax(logits_t / temperature)
on a reward table is a differentiable function of the parameters, so the loss is exact: the mean over
the M scenarios of max_a sum_t r_t(a) - sum_t <pi_t, r_t>. No trajectory is sampled or selected.
(With bandit feedback the expected regret is not differentiable in the parameters; its score-function
estimator is the policy gradient with return = minus regret, `core.policy_gradient`.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from rmft_jax.core import sft


class RegretBatch(NamedTuple):
    """M scenarios: the model's inputs (M, T, D) and the reward tables (M, T, A) its regret is measured on."""

    inputs_BxTxD: jax.Array
    rewards_BxTxA: jax.Array


def expected_regret(logits_BxTxA: jax.Array, rewards_BxTxA: jax.Array, temperature: float = 1.0) -> jax.Array:
    """Mean over scenarios of the expected static regret at T of softmax(logits / temperature)."""
    policies_BxTxA = jax.nn.softmax(logits_BxTxA / temperature, axis=-1)
    best_B = jnp.max(jnp.sum(rewards_BxTxA, axis=-2), axis=-1)
    return jnp.mean(best_B - jnp.sum(policies_BxTxA * rewards_BxTxA, axis=(-2, -1)))


def make_update(
    apply_fn: Callable, optimizer: optax.GradientTransformation, num_steps: int, temperature: float = 1.0
) -> Callable:
    """update(params, opt_state, RegretBatch) -> (params, opt_state, losses (num_steps,)): Adam on the regret."""

    def update(params: Any, opt_state: Any, batch: RegretBatch):
        def loss_fn(p):
            return expected_regret(apply_fn(p, batch.inputs_BxTxD), batch.rewards_BxTxA, temperature)

        return sft.gradient_steps(loss_fn, params, opt_state, optimizer, num_steps)

    return update
