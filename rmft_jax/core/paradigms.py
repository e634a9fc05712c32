"""Training paradigms as update rules of the one loop (`core.loop`): what is imitated or optimized per iteration.

    rmft             the model rolls out L per scenario; keep the k lowest-regret; SFT on them (Iterative RMFT)
    distill          a teacher algorithm rolls out L per scenario; SFT on all L (algorithm distillation: no
                     filter, the same number of sampled trajectories; the task plays the teacher: `task.with_teacher`),
                     or on k random ones (`rows="k"`: RMFT's batch size where every rollout is its own row;
                     a task may then let the teacher play only k, as the bandit task does)
    regret_loss      no sampling: Adam on the model's expected regret on the M scenarios (`core.regret_loss`)
    policy_gradient  the model rolls out L per scenario; advantages from all L; PPO-clipped policy gradient
                     with return = reward or minus regret (`core.policy_gradient`) on all L or k random (`rows`)

Each paradigm is (the task that rolls out, the selection step, the update rule); `make_iteration`
hands them to `loop.make_iteration`, so every paradigm runs the same iteration with the same
scenarios, keys, optimizer and number of gradient steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from rmft_jax.core import loop, policy_gradient, regret_loss, selection, sft

PARADIGMS = ("rmft", "distill", "regret_loss", "policy_gradient")
ROWS = ("all", "k")  # distill / policy_gradient train on all L rollouts of a scenario, or k random ones


@dataclasses.dataclass(frozen=True)
class ParadigmSettings:
    """Static paradigm settings: its name, the distillation teacher, the policy-gradient return and clip."""

    name: str = "rmft"
    teacher: str = "hedge"  # distill: the task's teacher algorithm (FOL: hedge, ftl)
    teacher_eta: float = 1.0  # distill with teacher hedge: its learning rate
    pg_return: str = "reward"  # policy_gradient: reward | regret (return = minus regret)
    clip: float = 0.2  # policy_gradient: PPO ratio clip
    rows: str = "all"  # distill / policy_gradient: all L rollouts per scenario, or k random ("k": RMFT's batch size)


def _keep_all(regret_MxL: jax.Array) -> jax.Array:
    """Indices (M, L) of every rollout."""
    num, rollouts = regret_MxL.shape
    return jnp.broadcast_to(jnp.arange(rollouts), (num, rollouts))


def keep_rows(rows: str, num_selected: int, regret_MxL: jax.Array, key: jax.Array) -> jax.Array:
    """Indices (M, L) of every rollout, or (M, k) of k drawn uniformly without replacement per scenario."""
    if rows == "all":
        return _keep_all(regret_MxL)
    scores_MxL = selection.selection_scores("random", regret_MxL, regret_MxL, key)
    return selection.top_k_indices(scores_MxL, num_selected)


def imitation_update(task: Any, optimizer: optax.GradientTransformation, steps: int, temperature: float) -> Callable:
    """The SFT update on a task; a task whose `sft_features` is a function (a statistic of the inputs, computed once
    per update) trains through its `apply_features` on that statistic instead of `apply` on the inputs."""
    featurize = getattr(task, "sft_features", None)
    if featurize is None:
        return sft.make_update(task.apply, optimizer, steps, temperature)
    return sft.make_update(task.apply_features, optimizer, steps, temperature, featurize)


def make_iteration(
    task: Any, optimizer: optax.GradientTransformation, settings: loop.LoopSettings, paradigm: ParadigmSettings
) -> Callable:
    """Unjitted iteration(params, opt_state, key) -> (params, opt_state, metrics) of `paradigm` on `task`."""
    steps, temperature = settings.sft_steps, settings.temperature
    if paradigm.name == "rmft":
        return loop.make_iteration(task, imitation_update(task, optimizer, steps, temperature), settings)
    if paradigm.name == "distill":
        teacher_task = task.with_teacher(paradigm.teacher, paradigm.teacher_eta)

        def keep_teacher_rollouts(rolls, key_select):  # no filter: imitate all L (or k random) trajectories
            keep = keep_rows(paradigm.rows, settings.num_selected, rolls.regret_MxL, key_select)
            return keep, teacher_task.sft_batch(rolls, keep)

        return loop.make_iteration(
            teacher_task, imitation_update(task, optimizer, steps, temperature), settings, keep_teacher_rollouts
        )
    if paradigm.name == "regret_loss":

        def select_scenarios(rolls, key_select):
            return _keep_all(rolls.regret_MxL), task.regret_batch(rolls)

        return loop.make_iteration(
            task, regret_loss.make_update(task.apply, optimizer, steps, temperature), settings, select_scenarios
        )
    if paradigm.name == "policy_gradient":

        def score_rollouts(rolls, key_select):  # advantages from all L, then all L (or k random) rows
            adv_MxL = policy_gradient.advantages(paradigm.pg_return, rolls.regret_MxL, rolls.reward_MxL)
            keep = keep_rows(paradigm.rows, settings.num_selected, rolls.regret_MxL, key_select)
            return keep, task.pg_batch(rolls, adv_MxL, keep)

        update = policy_gradient.make_update(task.apply, optimizer, steps, temperature, paradigm.clip)
        return loop.make_iteration(task, update, settings, score_rollouts)
    raise ValueError(f"unknown paradigm {paradigm.name!r}; choose one of {list(PARADIGMS)}.")
