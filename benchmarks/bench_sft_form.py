"""One SFT update (the default 50 Adam steps) of the single layer, sft.form 'forward' against 'moments', as T grows;
and the bandit iteration (MAB default) with either form.

    python -m benchmarks.bench_sft_form [--out benchmarks/results/sft_form_cpu.json] [--repeats 5]

'forward' runs the model's forward pass every step (the prefix sum over rounds of terms that depend on the
parameters); 'moments' computes the prefix second moments S_t = sum_{i<t} x_i x_i^T once per update and then
evaluates b + V S_t K^T Q c each step. Rows are the M k kept sequences of the default (M 256, k 2) at A = 5 and, for
the longer horizons, 128 rows. On bandits, 'moments' is each arm's pulls, reward sum and sum of squares before each
round (`tasks/bandit/tokens.arm_moments`); the whole MAB iteration (rollouts, selection, SFT) and its SFT update alone
are timed at the default config (M 256, L 16, k 2, T 100, A 5) for one seed; the FOL default iteration with either
form against the straightforward implementation (`benchmarks/naive_rmft.py`, as in bench_rmft). Both forms are timed
in one process, best of `repeats` calls after compiling.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import flax.nnx as nnx
import jax

from benchmarks import rmft_phases
from experiments.configs import fol_single_layer, mab
from rmft_jax import models
from rmft_jax.core import paradigms, sft
from rmft_jax.core.loop import SFTBatch
from rmft_jax.models import linear_attention
from rmft_jax.tasks.bandit import task as bandit
from rmft_jax.training import workdir_files

CASES = ((512, 50), (128, 200), (128, 1000))  # (rows, T)


def time_update(form: str, rows: int, horizon: int, repeats: int, num_actions: int = 5) -> float:
    """Best seconds of one jitted 50-step SFT update in `form`."""
    graphdef, params = nnx.split(models.make_model("linear_attention", num_actions, seed=0, prefix_sum="matmul"))
    rewards = jax.random.uniform(jax.random.key(0), (rows, horizon, num_actions))
    actions = jax.random.randint(jax.random.key(1), (rows, horizon), 0, num_actions)
    batch = SFTBatch(rewards, jax.nn.one_hot(actions, num_actions), None)
    optimizer = sft.make_optimizer(3e-3)
    if form == "forward":
        update = sft.make_update(lambda p, x: models.apply(graphdef, p, x), optimizer, 50)
    else:
        update = sft.make_update(
            lambda p, s: models.apply_moments(graphdef, p, s),
            optimizer,
            50,
            1.0,
            linear_attention.prefix_second_moments,
        )
    fn, state = jax.jit(update), optimizer.init(params)
    jax.block_until_ready(fn(params, state, batch))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(params, state, batch))
        best = min(best, time.perf_counter() - t0)
    return best


def best_of(fn, args, repeats: int) -> float:
    """Best seconds of `repeats` calls of a jitted fn after one compiling call."""
    jax.block_until_ready(fn(*args))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def time_bandit(form: str, repeats: int) -> dict:
    """Best seconds of the MAB default's whole iteration and of its SFT update alone (on real kept rollouts)."""
    cfg = mab.get_config()
    cfg.sft.form = form
    bandit.validate_config(cfg)
    s = bandit.BanditSettings.from_config(cfg)
    env, _ = bandit.build_envs(cfg)
    graphdef, params = bandit.build_model(cfg, seed=0)
    optimizer = sft.optimizer_from_config(cfg)
    opt_state = optimizer.init(params)
    iteration = jax.jit(bandit.make_iteration(env, graphdef, optimizer, s))
    task = bandit.BanditTask(env, graphdef, s)
    rolls = jax.jit(task.rollout)(params, jax.random.key(1), jax.random.key(2))
    keep = jax.random.randint(jax.random.key(3), (s.num_scenarios, s.num_selected), 0, s.num_rollouts)
    batch = task.sft_batch(rolls, keep)
    update = jax.jit(paradigms.imitation_update(task, optimizer, s.sft_steps, s.temperature))
    return {
        "iteration_s": best_of(iteration, (params, opt_state, jax.random.key(0)), repeats),
        "sft_update_s": best_of(update, (params, opt_state, batch), repeats),
        "rows": int(batch.inputs_BxTxD.shape[0]),
        "horizon": s.horizon,
        "statistic_width": 3 * s.num_actions + 1,  # n, s, q per arm, then t
    }


def main() -> None:
    """Time both forms at each (rows, T); write JSON; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/sft_form_cpu.json")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = []
    for rows, horizon in CASES:
        forward = time_update("forward", rows, horizon, args.repeats)
        moments = time_update("moments", rows, horizon, args.repeats)
        cases.append({"rows": rows, "horizon": horizon, "forward_s": forward, "moments_s": moments})
        print(
            f"rows {rows:4d} T {horizon:5d}: forward {forward * 1e3:7.1f} ms, moments {moments * 1e3:7.1f} ms "
            f"({forward / moments:.2f}x)"
        )
    bandits = {form: time_bandit(form, args.repeats) for form in ("forward", "moments")}
    for part in ("iteration_s", "sft_update_s"):
        f, m = bandits["forward"][part], bandits["moments"][part]
        print(f"MAB default {part[:-2]:>10}: forward {f * 1e3:7.1f} ms, moments {m * 1e3:7.1f} ms ({f / m:.2f}x)")
    fol_default = {}
    for form in ("forward", "moments"):
        cfg = fol_single_layer.get_config()
        cfg.sft.form = form
        fol_default[form] = {k: v for k, v in rmft_phases.ours(cfg, args.repeats).items() if k.endswith("_s")}
    fol_default["naive"] = {k: v for k, v in rmft_phases.naive(fol_single_layer.get_config(), args.repeats).items()}
    for form in ("forward", "moments"):
        ratio = fol_default["naive"]["iteration_s"] / fol_default[form]["iteration_s"]
        fol_default[f"speedup_over_naive_{form}"] = ratio
        print(f"FOL default iteration, {form}: {fol_default[form]['iteration_s'] * 1e3:.1f} ms, {ratio:.2f}x naive")
    out = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_avg_1_5_15": list(os.getloadavg()),
        },
        "what": "one SFT update (50 Adam steps) of linear_attention, A = 5",
        "repeats": args.repeats,
        "cases": cases,
        "bandit_mab_default": bandits,
        "fol_default_iteration": fol_default,
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    workdir_files.write_json_atomic(args.out, out)


if __name__ == "__main__":
    main()
