"""Load a trained policy from a workdir: `rmft_jax.load_policy(workdir)(rewards) -> policies`."""
from __future__ import annotations

import os
from typing import Callable

import jax
import jax.numpy as jnp

from rmft_jax import checkpoint, fol_train, models, rmft


def load_policy(workdir: str, step: int | None = None) -> Callable[[jax.Array], jax.Array]:
    """The trained FOL model of `workdir` (newest checkpoint, or `step`) as a function of rewards.

    The returned `policy(rewards)` maps rewards (..., T, A) to the model's policies (..., T, A) =
    softmax(logits / temperature); round t's policy depends only on rewards of rounds < t. Any
    T >= 1 works: T up to the trained horizon is the trained regime; longer horizons run too (both
    models have no position limit by default; a transformer with positions='learned' stops at
    max_horizon with a ValueError) but are extrapolation, to be checked by evaluation.
    """
    cfg = fol_train.load_config(workdir)
    graphdef, params = rmft.build_model(cfg, seed=int(cfg.seed))
    opt_state = rmft.build_optimizer(cfg).init(params)
    ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"))
    step = ckpt.latest_step() if step is None else step
    if step is None:
        ckpt.close()
        raise FileNotFoundError(f"no checkpoint in {ckpt.directory}: train first (it saves one per iteration).")
    (params, _), _ = ckpt.restore(step, (params, opt_state))
    ckpt.close()
    temperature, num_actions = float(cfg.rmft.temperature), int(cfg.env.num_actions)
    forward = jax.jit(lambda p, r: jax.nn.softmax(models.apply(graphdef, p, r) / temperature, axis=-1))

    def policy(rewards: jax.Array) -> jax.Array:
        """Policies (..., T, A) for rewards (..., T, A)."""
        if jnp.ndim(rewards) < 2 or jnp.shape(rewards)[-1] != num_actions:
            raise ValueError(f"rewards must have shape (..., T, {num_actions}) for this model, "
                             f"got {jnp.shape(rewards)}.")
        return forward(params, jnp.asarray(rewards, jnp.float32))

    return policy
