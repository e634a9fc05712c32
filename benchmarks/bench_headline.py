"""Wall time of the headline command, from the command to its last line: cold and with a warm compile cache.

    python -m benchmarks.bench_headline [--out benchmarks/results/headline_cpu.json] [--config FILE[:VARIANT]]

Runs `python -m experiments.fol_single_layer` in a fresh process three times, each on a fresh
workdir: with `--nocompile_cache`; with an empty cache directory (it fills it); and again with the
now-warm cache (the second run of a config). Records each run's wall time and the split that
results.json holds (compile, iterations, end-of-run worst-case check); the rest is import, held-out
sampling, baselines, figures and interpreter start-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

from rmft_jax.training import workdir_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_run(config: str, workdir: str, cache_dir: str | None) -> dict:
    """Run the headline command once; wall time and results.json's split."""
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "experiments.fol_single_layer", f"--config={config}", f"--workdir={workdir}"]
    if cache_dir is None:
        cmd.append("--nocompile_cache")
    else:
        env["RMFT_JAX_CACHE_DIR"] = cache_dir
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"headline run failed:\n{done.stderr[-2000:]}")
    results = workdir_files.load_json(os.path.join(workdir, "results.json"))
    split = {
        "compile_s": results["compile_seconds"],
        "iterations_s": results["train_seconds"],
        "attack_s": results.get("attack_seconds", 0.0),
    }
    split["other_s"] = wall - sum(split.values())
    return {
        "wall_s": wall,
        **split,
        "held_out_regret": results["final"]["eval_regret"],
        "last_line": done.stdout.strip().splitlines()[-1],
    }


def main() -> None:
    """Three runs, one JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/headline_cpu.json")
    parser.add_argument("--config", default="experiments/configs/fol_single_layer.py")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = os.path.join(tmp, "cache")
        runs = {
            "no_cache": one_run(args.config, os.path.join(tmp, "a"), None),
            "cold_cache": one_run(args.config, os.path.join(tmp, "b"), cache),
            "warm_cache": one_run(args.config, os.path.join(tmp, "c"), cache),
        }
    out = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_avg_1_5_15": list(os.getloadavg()),
        },
        "command": f"python -m experiments.fol_single_layer --config={args.config}",
        "runs": runs,
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    workdir_files.write_json_atomic(args.out, out)
    for name, r in runs.items():
        print(
            f"{name:>10}: {r['wall_s']:5.1f}s wall (compile {r['compile_s']:.1f}, iterations {r['iterations_s']:.1f}, "
            f"worst-case check {r['attack_s']:.1f}, other {r['other_s']:.1f}); held-out {r['held_out_regret']:.3f}"
        )


if __name__ == "__main__":
    main()
