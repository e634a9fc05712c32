"""Time one FOL RMFT iteration by phase (rollout, selection, SFT, evaluation), ours and the naive one.

Each phase is jitted on its own from the same pure functions the fused iteration composes
(`fol.make_phases`), timed as the best of `repeats` calls after a warm-up; compile time is taken
from `.lower().compile()` apart. XLA's cost analysis of each compiled phase gives the FLOPs, bytes and
transcendentals it does (a `scan` body is counted once by XLA, so SFT is one step times the step count).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from benchmarks.naive_rmft import make_naive_iteration
from rmft_jax import envs, models
from rmft_jax.core import sft
from rmft_jax.tasks.fol import task as fol

COSTS = ("flops", "bytes accessed", "transcendentals")


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """Smallest wall time of `repeats` blocking calls of fn()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def compile_timed(fn: Callable, *args) -> tuple[Any, float]:
    """(compiled fn, seconds to lower and compile it)."""
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - start


def cost_of(compiled: Any, times: int = 1) -> dict[str, float]:
    """FLOPs, bytes accessed and transcendentals of one call (times `times`), from XLA's cost analysis."""
    analysis = compiled.cost_analysis()
    analysis = analysis[0] if isinstance(analysis, (list, tuple)) else analysis
    return {k: times * float(analysis.get(k, 0.0)) for k in COSTS}


def build(cfg: Any) -> tuple:
    """(settings, env, graphdef, params, optimizer) of a config."""
    settings, env = fol.FOLSettings.from_config(cfg), fol.build_env(cfg)
    graphdef, params = fol.build_model(cfg, seed=0)
    return settings, env, graphdef, params, fol.build_optimizer(cfg)


def ours(cfg: Any, repeats: int, fused: bool = True) -> dict:
    """Per-phase times, compile times, costs and peak memory of our iteration at `cfg`."""
    s, env, graphdef, params, optimizer = build(cfg)
    opt_state = optimizer.init(params)
    phases = fol.make_phases(env, graphdef, optimizer, s)
    one_step = fol.make_phases(
        env, graphdef, optimizer, dataclasses.replace(s, loop=dataclasses.replace(s.loop, sft_steps=1))
    ).update
    key_env, key_roll, key_select, key_eval = jax.random.split(jax.random.key(0), 4)
    heldout_NxTxA = envs.sample_batch(fol.build_env(cfg), key_eval, int(cfg.eval.num_scenarios))
    roll, c_roll = compile_timed(phases.rollout, params, key_env, key_roll)
    rolls = roll(params, key_env, key_roll)
    sel, c_sel = compile_timed(phases.select, rolls, key_select)
    _, batch = sel(rolls, key_select)
    sft_args = (params, opt_state, batch)
    sft_fn, c_sft = compile_timed(phases.update, *sft_args)
    step, _ = compile_timed(one_step, *sft_args)
    evaluate, c_eval = compile_timed(fol.make_evaluate(graphdef, s.temperature), params, heldout_NxTxA)
    out = {
        "rollout_s": best_time(lambda: roll(params, key_env, key_roll), repeats),
        "select_s": best_time(lambda: sel(rolls, key_select), repeats),
        "sft_s": best_time(lambda: sft_fn(*sft_args), repeats),
        "eval_s": best_time(lambda: evaluate(params, heldout_NxTxA), repeats),
        "phase_compile_s": c_roll + c_sel + c_sft + c_eval,
        "cost": {
            "rollout": cost_of(roll),
            "select": cost_of(sel),
            "sft": cost_of(step, s.sft_steps),
            "eval": cost_of(evaluate),
        },
    }
    out["iteration_phases_s"] = out["rollout_s"] + out["select_s"] + out["sft_s"]
    if fused:
        iteration, out["compile_s"] = compile_timed(
            fol.make_iteration(env, graphdef, optimizer, s), params, opt_state, key_env
        )
        out["iteration_s"] = best_time(lambda: iteration(params, opt_state, key_env), repeats)
        mem = iteration.memory_analysis()
        out["peak_bytes"] = int(mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes)
    return out


def naive(cfg: Any, repeats: int) -> dict:
    """Per-phase times and compile time of the straightforward iteration (benchmarks/naive_rmft.py)."""
    s, env, graphdef, params, optimizer = build(cfg)
    opt_state = optimizer.init(params)
    fns = make_naive_iteration(env, graphdef, optimizer, s)
    key_env, key_roll = jax.random.split(jax.random.key(0))
    start = time.perf_counter()
    rewards_MxTxA, actions_MxLxT, regret_MxL, _ = jax.block_until_ready(fns["rollout"](params, key_env, key_roll))
    inputs, targets = jax.block_until_ready(fns["select"](rewards_MxTxA, actions_MxLxT, regret_MxL))
    jax.block_until_ready(fns["sft_step"](params, opt_state, inputs, targets))
    first_s = time.perf_counter() - start

    def sft_loop():
        p, o = params, opt_state
        for _ in range(s.sft_steps):
            p, o, loss = fns["sft_step"](p, o, inputs, targets)
        return p, loss

    out = {
        "rollout_s": best_time(lambda: fns["rollout"](params, key_env, key_roll), repeats),
        "select_s": best_time(lambda: fns["select"](rewards_MxTxA, actions_MxLxT, regret_MxL), repeats),
        "sft_s": best_time(sft_loop, repeats),
        "iteration_s": best_time(lambda: fns["iteration"](params, opt_state, key_env), repeats),
    }
    # The first calls compiled the three jitted pieces and ran them once.
    out["compile_s"] = max(first_s - out["rollout_s"] - out["select_s"] - out["sft_s"] / max(s.sft_steps, 1), 0.0)
    out["iteration_phases_s"] = out["rollout_s"] + out["select_s"] + out["sft_s"]
    return out


def naive_rollout(cfg: Any, repeats: int) -> float:
    """Best time of the naive per-round-scan rollout alone (compiled ahead, so no warm-up run)."""
    s, env, graphdef, params, optimizer = build(cfg)
    rollout = make_naive_iteration(env, graphdef, optimizer, s)["rollout"]
    key_env, key_roll = jax.random.split(jax.random.key(0))
    compiled = rollout.lower(params, key_env, key_roll).compile()
    return best_time(lambda: compiled(params, key_env, key_roll), repeats)


def agreement(cfg: Any) -> dict:
    """Both implementations must compute the same thing: same policies and the same SFT loss."""
    s, env, graphdef, params, optimizer = build(cfg)
    fns = make_naive_iteration(env, graphdef, optimizer, s)
    phases = fol.make_phases(env, graphdef, optimizer, s)
    key_env, key_roll = jax.random.split(jax.random.key(1))
    rewards_MxTxA, actions_MxLxT, regret_MxL, naive_logits_MxTxA = fns["rollout"](params, key_env, key_roll)
    rolls = jax.jit(phases.rollout)(params, key_env, key_roll)
    ours_rewards_MxTxA = rolls.data.rewards_SxTxA
    ours_logits_MxTxA = jax.jit(lambda p, r: models.apply(graphdef, p, r))(params, ours_rewards_MxTxA)
    inputs, targets = fns["select"](rewards_MxTxA, actions_MxLxT, regret_MxL)
    # Our loss: one forward pass per scenario against the mean of its k kept one-hot targets.
    mean_targets_MxTxA = targets.reshape(s.num_scenarios, s.num_selected, s.horizon, s.num_actions).mean(1)
    ours_loss = sft.imitation_loss(ours_logits_MxTxA, mean_targets_MxTxA, s.temperature)
    return {
        "same_rewards": bool(np.array_equal(np.asarray(rewards_MxTxA), np.asarray(ours_rewards_MxTxA))),
        "max_abs_policy_logit_diff": float(np.abs(np.asarray(naive_logits_MxTxA - ours_logits_MxTxA)).max()),
        "naive_sft_loss": float(fns["loss"](params, inputs, targets)),
        "ours_sft_loss": float(ours_loss),
        "naive_rollout_regret": float(regret_MxL.mean()),
        "ours_rollout_regret": float(rolls.regret_MxL.mean()),
    }
