"""Throughput of the jitted baselines against plain numpy loops over rounds (vectorized over the batch).

    python -m benchmarks.bench_baselines [--out benchmarks/results/baselines_cpu.json] [--quick]

Hedge: N sequences x T rounds x A actions from one reward table; both sides compute every
sequence's expected-regret curve. UCB1: N runs on Bernoulli arms; both sides draw rewards per round.
Compile time is reported apart from run time (best of several runs, after a warm-up call).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import baselines
from rmft_jax.baselines import full_info


def best_time(fn, repeats: int) -> float:
    """Smallest wall time of `repeats` calls of fn()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_hedge_regret(rewards_NxTxA: np.ndarray, eta: float) -> np.ndarray:
    """Hedge's expected-regret curve: a loop over rounds, vectorized over the N sequences."""
    num, horizon, num_actions = rewards_NxTxA.shape
    cum_NxA = np.zeros((num, num_actions), np.float32)
    gain_N = np.zeros(num, np.float32)
    curve_NxT = np.empty((num, horizon), np.float32)
    for t in range(horizon):
        w_NxA = np.exp(eta * (cum_NxA - cum_NxA.max(1, keepdims=True)))
        r_NxA = rewards_NxTxA[:, t]
        gain_N += (w_NxA * r_NxA).sum(1) / w_NxA.sum(1)
        cum_NxA += r_NxA
        curve_NxT[:, t] = cum_NxA.max(1) - gain_N
    return curve_NxT


def numpy_ucb1(means_TxA: np.ndarray, num_runs: int, seed: int) -> np.ndarray:
    """UCB1 on Bernoulli arms: a loop over rounds, vectorized over runs; returns actions (N, T)."""
    rng = np.random.default_rng(seed)
    horizon, num_actions = means_TxA.shape
    counts_NxA = np.zeros((num_runs, num_actions), np.float32)
    sums_NxA = np.zeros((num_runs, num_actions), np.float32)
    actions_NxT = np.empty((num_runs, horizon), np.int32)
    rows = np.arange(num_runs)
    for t in range(horizon):
        if t < num_actions:
            a_N = np.full(num_runs, t)
        else:
            ucb = sums_NxA / counts_NxA + np.sqrt(2.0 * math.log(t) / counts_NxA)
            a_N = ucb.argmax(1)
        r_N = (rng.random(num_runs) < means_TxA[t, a_N]).astype(np.float32)
        counts_NxA[rows, a_N] += 1
        sums_NxA[rows, a_N] += r_N
        actions_NxT[:, t] = a_N
    return actions_NxT


def exp_rate(num: int) -> float:
    """Measured jitted jnp.exp throughput on this machine, elements per second."""
    x = jnp.linspace(-3.0, 0.0, num, dtype=jnp.float32)
    f = jax.jit(jnp.exp)
    f(x).block_until_ready()
    return num / best_time(lambda: f(x).block_until_ready(), 5)


def copy_rate(num_bytes: int) -> float:
    """Measured memory copy rate (read + write), bytes per second."""
    src = np.ones(num_bytes // 4, np.float32)
    dst = np.empty_like(src)
    return 2 * num_bytes / best_time(lambda: np.copyto(dst, src), 5)


def bench_hedge(num: int, horizon: int, num_actions: int, repeats: int) -> dict:
    """Jitted streaming Hedge vs the numpy loop on one uniform reward table."""
    rewards = np.random.default_rng(0).random((num, horizon, num_actions), dtype=np.float32)
    eta = full_info.hedge_theory_eta(horizon, num_actions)
    rewards_dev = jnp.asarray(rewards)
    eta_B = jnp.full((num,), eta, jnp.float32)
    start = time.perf_counter()
    compiled = full_info._hedge_regret_scan.lower(rewards_dev, eta_B).compile()
    compile_s = time.perf_counter() - start
    jax_curve = np.asarray(compiled(rewards_dev, eta_B))
    jax_s = best_time(lambda: compiled(rewards_dev, eta_B).block_until_ready(), repeats)
    numpy_curve = numpy_hedge_regret(rewards, eta)
    numpy_s = best_time(lambda: numpy_hedge_regret(rewards, eta), max(1, repeats // 3))
    steps = num * horizon
    exps = steps * num_actions
    exp_s = exps / exp_rate(exps)
    table_s = rewards.nbytes / copy_rate(rewards.nbytes) * 1.0  # one read of the table
    return {
        "N": num,
        "T": horizon,
        "A": num_actions,
        "eta": eta,
        "max_abs_diff_vs_numpy": float(np.abs(jax_curve - numpy_curve).max()),
        "compile_s": compile_s,
        "jax_s": jax_s,
        "numpy_s": numpy_s,
        "jax_env_steps_per_s": steps / jax_s,
        "numpy_env_steps_per_s": steps / numpy_s,
        "speedup": numpy_s / jax_s,
        "exp_bound_s": exp_s,
        "table_read_bound_s": table_s,
        "fraction_of_exp_bound": exp_s / jax_s,
    }


def bench_ucb1(num: int, horizon: int, num_actions: int, repeats: int) -> dict:
    """Jitted run_bandit('ucb1') vs the numpy loop on Bernoulli arms with means ~ U[0, 1]."""
    means_A = np.random.default_rng(1).random(num_actions).astype(np.float32)
    means_TxA = np.tile(means_A, (horizon, 1))
    key = jax.random.key(0)

    def run():
        return baselines.run_bandit("ucb1", key, means_TxA, num_runs=num)[0].block_until_ready()

    start = time.perf_counter()
    run()
    first_s = time.perf_counter() - start
    jax_s = best_time(run, repeats)
    numpy_s = best_time(lambda: numpy_ucb1(means_TxA, num, 0), max(1, repeats // 3))
    jax_actions_NxT = np.asarray(baselines.run_bandit("ucb1", key, means_TxA, num_runs=num)[0])

    def regret_of(actions_NxT):
        return float(np.mean(horizon * means_A.max() - means_A[actions_NxT].sum(1)))

    steps = num * horizon
    return {
        "N": num,
        "T": horizon,
        "A": num_actions,
        "compile_s": max(first_s - jax_s, 0.0),
        "jax_s": jax_s,
        "numpy_s": numpy_s,
        "jax_env_steps_per_s": steps / jax_s,
        "numpy_env_steps_per_s": steps / numpy_s,
        "speedup": numpy_s / jax_s,
        # Both sides must learn alike, or the speed comparison means nothing.
        "mean_pseudo_regret_jax": regret_of(jax_actions_NxT),
        "mean_pseudo_regret_numpy": regret_of(numpy_ucb1(means_TxA, num, 1)),
    }


def main() -> None:
    """Parse flags, run both benchmarks, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/baselines_cpu.json")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    args = parser.parse_args()
    num, horizon = (256, 100) if args.quick else (4096, 1000)
    repeats = 2 if args.quick else 6
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()],
        },
        "hedge": bench_hedge(num, horizon, 10, repeats),
        "ucb1": bench_ucb1(num, horizon, 10, repeats),
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
