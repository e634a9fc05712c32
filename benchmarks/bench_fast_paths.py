"""The FOL iteration's fast paths at the single-layer default config, against the naive implementation.

    python -m benchmarks.bench_fast_paths [--out benchmarks/results/fast_paths_cpu.json] [--repeats 5]

Arms: the old default (gumbel sampling with one-hot targets, cumsum prefix sum); the inverse-CDF
sampler alone (integer actions, one uniform per round and trajectory); the matmul prefix sum alone;
both (the default since 2026-12). Each
arm's fused iteration and phases (rollout, selection, SFT) are timed as the best of `repeats` calls
after compiling; `benchmarks/naive_rmft.py` (per-trajectory sampled rollout, SFT as a Python loop of
jitted Adam steps on the M k kept sequences) is the reference the issue's 3x goal is measured against.
The inverse-CDF sampler draws another random stream than gumbel; the configs default to both fast paths.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

from benchmarks import rmft_phases
from experiments.configs import fol_single_layer
from rmft_jax.training import workdir_files

OLD = {"rmft.sampler": "gumbel", "model.prefix_sum": "cumsum"}
ARMS = {
    "gumbel_cumsum": OLD,
    "inverse_cdf": {**OLD, "rmft.sampler": "inverse_cdf"},
    "matmul_prefix": {**OLD, "model.prefix_sum": "matmul"},
    "default": {},
}


def config(overrides: dict):
    """The single-layer default config with `overrides` ('section.field': value)."""
    cfg = fol_single_layer.get_config()
    for name, value in overrides.items():
        section, field = name.split(".")
        cfg[section][field] = value
    return cfg


def main() -> None:
    """Time every arm and the naive iteration; write JSON; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/fast_paths_cpu.json")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # The straightforward implementation with the model as one would first write it (cumsum prefix sum), and
    # with our matmul prefix sum (the same model function as ours, so only the organization of the work differs).
    naive = rmft_phases.naive(config({}), args.repeats)
    naive_cumsum = rmft_phases.naive(config({"model.prefix_sum": "cumsum"}), args.repeats)
    arms = {}
    for name, overrides in ARMS.items():
        ours = rmft_phases.ours(config(overrides), args.repeats)
        arms[name] = {
            "overrides": overrides,
            **{k: ours[k] for k in ("iteration_s", "rollout_s", "select_s", "sft_s", "compile_s")},
            "speedup_vs_naive": naive["iteration_s"] / ours["iteration_s"],
            "speedup_vs_naive_cumsum": naive_cumsum["iteration_s"] / ours["iteration_s"],
        }
    out = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_avg_1_5_15": list(os.getloadavg()),
        },
        "config": "fol_single_layer (M=256, L=16, k=2, T=50, A=5, 50 SFT steps)",
        "repeats": args.repeats,
        "naive": {k: naive[k] for k in ("iteration_s", "rollout_s", "select_s", "sft_s")},
        "naive_cumsum": {k: naive_cumsum[k] for k in ("iteration_s", "rollout_s", "select_s", "sft_s")},
        "arms": arms,
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    workdir_files.write_json_atomic(args.out, out)
    print(
        f"{'naive':>14}: iteration {naive['iteration_s'] * 1e3:6.1f} ms (matmul prefix), "
        f"{naive_cumsum['iteration_s'] * 1e3:6.1f} ms (cumsum prefix)"
    )
    for name, a in arms.items():
        print(
            f"{name:>14}: iteration {a['iteration_s'] * 1e3:6.1f} ms (rollout {a['rollout_s'] * 1e3:5.1f}, "
            f"SFT {a['sft_s'] * 1e3:5.1f}) = {a['speedup_vs_naive']:.2f}x naive, "
            f"{a['speedup_vs_naive_cumsum']:.2f}x naive with the cumsum model"
        )
    print(json.dumps({"wrote": args.out}))


if __name__ == "__main__":
    main()
