"""Supervised fine-tuning on the selected trajectories: the imitation loss and optax updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax


def make_optimizer(learning_rate: float, grad_clip: float = 0.0, name: str = "adam") -> optax.GradientTransformation:
    """Adam (or SGD) with optional global-norm gradient clipping."""
    base = optax.adam(learning_rate) if name == "adam" else optax.sgd(learning_rate)
    return optax.chain(optax.clip_by_global_norm(grad_clip), base) if grad_clip > 0 else base


def optimizer_from_config(cfg: Any) -> optax.GradientTransformation:
    """The SFT optimizer of a config's `sft` section (learning_rate, grad_clip, optimizer)."""
    return make_optimizer(float(cfg.sft.learning_rate), float(cfg.sft.grad_clip), cfg.sft.optimizer)


def imitation_loss(
    logits_MxTxA: jax.Array, targets_MxTxA: jax.Array, temperature: float = 1.0, weights_M: jax.Array | None = None
) -> jax.Array:
    """Mean cross-entropy over scenarios and rounds of the policy softmax(logits / temperature).

    `targets_MxTxA` is the average of the k selected trajectories' targets (one-hot actions or
    policies): since the k trajectories of a scenario share its inputs, the summed cross-entropy
    over them equals k times the cross-entropy against their average, so one forward pass per
    scenario suffices. `weights_M` (optional) weighs the rows: the mean becomes a weighted mean.
    """
    log_probs = jax.nn.log_softmax(logits_MxTxA / temperature, axis=-1)
    cross_entropy_MxT = -jnp.sum(targets_MxTxA * log_probs, axis=-1)
    if weights_M is None:
        return jnp.mean(cross_entropy_MxT)
    return jnp.sum(weights_M * jnp.mean(cross_entropy_MxT, axis=-1)) / jnp.sum(weights_M)


def sft_steps(
    apply_fn: Callable,
    params: Any,
    opt_state: Any,
    optimizer: optax.GradientTransformation,
    inputs: jax.Array,
    targets_MxTxA: jax.Array,
    num_steps: int,
    temperature: float = 1.0,
    weights_M: jax.Array | None = None,
) -> tuple[Any, Any, jax.Array]:
    """`num_steps` full-batch optimizer steps on the imitation loss -> (params, opt_state, losses (num_steps,))."""

    def loss_fn(p):
        return imitation_loss(apply_fn(p, inputs), targets_MxTxA, temperature, weights_M)

    return gradient_steps(loss_fn, params, opt_state, optimizer, num_steps)


def gradient_steps(
    loss_fn: Callable, params: Any, opt_state: Any, optimizer: optax.GradientTransformation, num_steps: int
) -> tuple[Any, Any, jax.Array]:
    """`num_steps` full-batch optimizer steps on loss_fn(params), one `lax.scan` -> (params, opt_state, losses)."""

    def step(carry, _):
        p, s = carry
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, s = optimizer.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), loss

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), None, length=num_steps)
    return params, opt_state, losses


def make_update(
    apply_fn: Callable,
    optimizer: optax.GradientTransformation,
    num_steps: int,
    temperature: float = 1.0,
    featurize: Callable | None = None,
) -> Callable:
    """The SFT update rule of the loop: update(params, opt_state, batch) -> (params, opt_state, losses).

    With `featurize`, the batch's inputs become featurize(inputs) once per update, and every step calls
    apply_fn(params, features): a model whose logits depend on its inputs through a statistic that does not change
    during the steps (the single layer's prefix second moments) skips recomputing it each step.
    """

    def update(params, opt_state, batch):
        return sft_steps(
            apply_fn,
            params,
            opt_state,
            optimizer,
            batch.inputs_BxTxD if featurize is None else featurize(batch.inputs_BxTxD),
            batch.targets_BxTxA,
            num_steps,
            temperature,
            batch.weights_B,
        )

    return update
