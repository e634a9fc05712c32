"""Load a trained policy from a workdir.

FOL runs: `load_policy(workdir)(rewards) -> policies`. Bandit runs (MAB, NS-MAB):
`load_policy(workdir, init="scratch", seed_index=0)(actions, rewards) -> policies`, with a
`.rollout(rewards_NxTxA, key)` attribute that plays the policy on reward tables.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp

from rmft_jax import models
from rmft_jax.tasks.bandit import rollout as bandit_rollout
from rmft_jax.tasks.bandit import task as bandit
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import checkpoint, runner


def load_policy(
    workdir: str, step: int | None = None, init: str = "scratch", seed_index: int = 0
) -> Callable[..., jax.Array]:
    """The trained FOL model of `workdir` (newest checkpoint, or `step`) as a function of rewards.

    The policy says which checkpoint it is: `policy.step` (its iteration) and `policy.final` (whether that is the
    run's last, rmft.num_iterations); loading the newest checkpoint of an unfinished run warns.

    The returned `policy(rewards)` maps rewards (..., T, A) to the model's policies (..., T, A) =
    softmax(logits / temperature); round t's policy depends only on rewards of rounds < t. Any
    T >= 1 works (and, for the A-free `shared_linear_attention`, any action count A >= 2): T up to
    the trained horizon is the trained regime; longer horizons run too (both
    models have no position limit by default; a transformer with positions='learned' stops at
    max_horizon with a ValueError) but are extrapolation, to be checked by evaluation.

    For a bandit workdir (config task 'mab' or 'nsmab'), it returns `policy(actions, rewards)`: integer
    actions (..., T) and the rewards observed for them (..., T) -> policies (..., T, A), round t's
    policy depending only on rounds < t; `policy.rollout(rewards_NxTxA, key)` plays the policy on
    pre-drawn reward tables and returns (actions (N, T), observed rewards (N, T)). `init` picks the
    trained init ("scratch" or "greedy") and `seed_index` one of its seeds.
    """
    cfg = runner.load_config(workdir)
    if runner.task_of(cfg) in bandit.TASKS:
        return _load_bandit_policy(cfg, workdir, step, init, seed_index)
    asked = step is not None
    graphdef, params, step = load_checkpoint_params(workdir, cfg, step)
    temperature, num_actions = float(cfg.rmft.temperature), int(cfg.env.num_actions)
    forward = jax.jit(lambda p, r: jax.nn.softmax(models.apply(graphdef, p, r) / temperature, axis=-1))

    any_actions = cfg.model.name == "shared_linear_attention"  # its parameters do not depend on A

    def policy(rewards: jax.Array) -> jax.Array:
        """Policies (..., T, A) for rewards (..., T, A)."""
        shape = jnp.shape(rewards)
        if len(shape) < 2 or (shape[-1] != num_actions and not (any_actions and shape[-1] >= 2)):
            wanted = "A >= 2" if any_actions else str(num_actions)
            raise ValueError(f"rewards must have shape (..., T, {wanted}) for this model, got {shape}.")
        return forward(params, jnp.asarray(rewards, jnp.float32))

    return _labelled(policy, cfg, workdir, step, asked)


def _labelled(policy: Callable, cfg, workdir: str, step: int, asked: bool) -> Callable:
    """`policy` with .step and .final set; a warning when it is the newest checkpoint of an unfinished run."""
    total = int(cfg.rmft.num_iterations)
    policy.step, policy.final = step, step >= total
    if not (policy.final or asked):
        warnings.warn(
            f"{workdir}: the policy of checkpoint {step}, not the trained model of iteration {total} "
            "(the run is not finished)",
            stacklevel=3,
        )
    return policy


def load_checkpoint_params(workdir: str, cfg=None, step: int | None = None) -> tuple:
    """(graphdef, params, step) of an FOL workdir's model at checkpoint `step` (default: the newest)."""
    cfg = runner.load_config(workdir) if cfg is None else cfg
    graphdef, params = fol.build_model(cfg, seed=int(cfg.seed))
    opt_state = fol.build_optimizer(cfg).init(params)
    (params, _), step = _restore(os.path.join(workdir, "checkpoints"), step, (params, opt_state))
    return graphdef, params, step


def _restore(directory: str, step: int | None, state: tuple) -> tuple:
    """((params, opt_state), step) of checkpoint `step` (default: the newest) in `directory`, shaped like `state`."""
    ckpt = checkpoint.Checkpointer(directory)
    step = ckpt.latest_step() if step is None else step
    if step is None:
        ckpt.close()
        raise FileNotFoundError(f"no checkpoint in {ckpt.directory}: train first (it saves one per iteration).")
    restored, _ = ckpt.restore(step, state)
    ckpt.close()
    return restored, step


def _load_bandit_policy(cfg, workdir: str, step: int | None, init: str, seed_index: int) -> Callable:
    """The bandit model of `workdir`'s init `init`, seed `seed_index` (see `load_policy`)."""
    asked = step is not None
    num_seeds = int(cfg.inits.get(init, 0)) if init in cfg.inits else 0
    if not 0 <= seed_index < num_seeds:
        raise ValueError(
            f"{workdir} trained {num_seeds} seed(s) for init {init!r}; seed_index must lie in "
            f"[0, {num_seeds}) (inits trained: {dict(cfg.inits)})."
        )
    graphdef, params = bandit.build_model(cfg, seed=int(cfg.seed))
    stacked = jax.tree.map(lambda x: jnp.stack([x] * num_seeds), params)
    opt_state = jax.vmap(fol.build_optimizer(cfg).init)(stacked)
    (stacked, _), step = _restore(os.path.join(workdir, "checkpoints", init), step, (stacked, opt_state))
    params = jax.tree.map(lambda x: x[seed_index], stacked)
    settings = bandit.BanditSettings.from_config(cfg)
    num_actions, temperature, time_feature = settings.num_actions, settings.temperature, settings.time_feature
    forward = jax.jit(
        lambda p, a, r: jax.nn.softmax(
            bandit_rollout.teacher_forced_logits(graphdef, p, a, r, num_actions, time_feature) / temperature, axis=-1
        )
    )

    def policy(actions: jax.Array, rewards: jax.Array) -> jax.Array:
        """Policies (..., T, A) after the actions (..., T) and their observed rewards (..., T)."""
        if jnp.ndim(actions) < 1 or jnp.shape(actions) != jnp.shape(rewards):
            raise ValueError(
                f"actions and rewards must both have shape (..., T), got {jnp.shape(actions)} and {jnp.shape(rewards)}."
            )
        return forward(params, jnp.asarray(actions, jnp.int32), jnp.asarray(rewards, jnp.float32))

    def rollout(rewards_NxTxA: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Play the policy on reward tables (N, T, A): (actions (N, T), observed rewards (N, T))."""
        if jnp.ndim(rewards_NxTxA) != 3 or jnp.shape(rewards_NxTxA)[-1] != num_actions:
            raise ValueError(f"rewards must have shape (N, T, {num_actions}), got {jnp.shape(rewards_NxTxA)}.")
        traj = bandit_rollout.rollout(
            graphdef, params, jnp.asarray(rewards_NxTxA, jnp.float32), key, temperature, time_feature
        )
        return traj.actions_BxT, traj.rewards_BxT

    policy.rollout = rollout
    return _labelled(policy, cfg, workdir, step, asked)
