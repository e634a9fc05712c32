"""The accelerator run, one command: rollout throughput, the headline run and a scaled run, as JSON.

    python -m benchmarks.gpu_suite --out DIR [--quick]      (benchmarks/gpu.sh wraps it)

1. throughput: trajectory-steps per second (M L T / time) of the single-layer FOL rollout phase and
   of one whole iteration, at the default config and at M = 4096 (goal on one H100-class GPU:
   >= 1e8 trajectory-steps/s for the rollouts);
2. the headline run (`fol_single_layer`, default config) end to end, wall time included;
3. a scaled run: the headline config at M = 4096 scenarios.
`--quick` shrinks everything to smoke sizes and skips the scaled run, so CI can run it on a CPU in
seconds (it checks that the script works, not the numbers). Writes DIR/gpu_suite.json; the runs' workdirs go
under DIR/runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax

from benchmarks.rmft_phases import best_time, build
from experiments.configs import fol_single_layer
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import fol_train, workdir_files


def throughput(cfg, repeats: int) -> dict:
    """Trajectory-steps per second of the rollout phase and of one iteration at `cfg`."""
    s, env, graphdef, params, optimizer = build(cfg)
    opt_state = optimizer.init(params)
    key_env, key_roll, key_it = jax.random.split(jax.random.key(0), 3)
    rollout = jax.jit(fol.make_phases(env, graphdef, optimizer, s).rollout)
    iteration = fol.make_iteration(env, graphdef, optimizer, s)
    jax.block_until_ready(rollout(params, key_env, key_roll))
    jax.block_until_ready(iteration(params, opt_state, key_it))
    steps = s.num_scenarios * s.num_rollouts * s.horizon
    rollout_s = best_time(lambda: rollout(params, key_env, key_roll), repeats)
    iteration_s = best_time(lambda: iteration(params, opt_state, key_it), repeats)
    return {
        "M": s.num_scenarios,
        "L": s.num_rollouts,
        "T": s.horizon,
        "A": s.num_actions,
        "rollout_s": rollout_s,
        "iteration_s": iteration_s,
        "rollout_trajectory_steps_per_s": steps / rollout_s,
        "iteration_trajectory_steps_per_s": steps / iteration_s,
    }


def timed_run(cfg, workdir: str) -> dict:
    """One driver run from scratch: wall time and its headline numbers."""
    start = time.perf_counter()
    results = fol_train.run(cfg, workdir, log=lambda line: None)
    return {
        "wall_s": time.perf_counter() - start,
        "compile_s": results["compile_seconds"],
        "train_s": results["train_seconds"],
        "held_out_regret": results["final"]["eval_regret"],
        "tuned_hedge_regret": results["ftrl"]["eval_regret"],
        "M": int(cfg.rmft.num_scenarios),
        "iterations": int(cfg.rmft.num_iterations),
    }


def main() -> None:
    """Parse flags, run the three parts, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for gpu_suite.json and the runs")
    parser.add_argument("--quick", action="store_true", help="smoke sizes (CI on a CPU)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    variant, scaled_m, repeats = ("smoke", 64, 2) if args.quick else ("", 4096, 5)
    base = fol_single_layer.get_config(variant)
    base.attack.at_end = False  # the worst-case check is timed by experiments.attack, not here
    scaled = fol_single_layer.get_config(variant)
    scaled.rmft.num_scenarios, scaled.attack.at_end = scaled_m, False
    out = {
        "machine": {
            "platform": platform.platform(),
            "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()],
            "jax": jax.__version__,
        },
        "quick": args.quick,
    }
    out["throughput"] = {"default": throughput(base, repeats), "scaled": throughput(scaled, repeats)}
    print(json.dumps(out["throughput"]), flush=True)
    out["headline"] = timed_run(base, os.path.join(args.out, "runs", "headline"))
    if not args.quick:  # the scaled run is the headline's code at another M; quick mode skips it
        out["scaled_run"] = timed_run(scaled, os.path.join(args.out, "runs", "scaled"))
    workdir_files.write_json_atomic(os.path.join(args.out, "gpu_suite.json"), out)
    print(json.dumps({k: out[k] for k in ("headline", "scaled_run") if k in out}), flush=True)


if __name__ == "__main__":
    main()
