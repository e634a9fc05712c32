"""Bandit rollouts: our cached `lax.scan` (recurrent state / KV cache) vs one that recomputes the prefix.

    python -m benchmarks.bench_bandit_rollout [--out benchmarks/results/bandit_rollout_cpu.json] [--quick]

Both roll out B trajectories of T rounds on the same reward tables with the same keys and must make
the same choices (checked before timing). The uncached rollout is the straightforward one: round t
runs the model's full causal forward pass over the whole (zero-padded) history and reads position t,
so round t costs O(T) work instead of O(1) (linear attention) or O(t) (transformer's KV cache).
Reported: best-of-`repeats` run time (best of two for calls over a second), compile time apart, env-steps per
second, the speedup, and the log-log slope of run time in T (1 = linear; the uncached rollout should grow faster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.rmft_phases import best_time
from rmft_jax import models
from rmft_jax.tasks.bandit import rollout as bandit_rollout
from rmft_jax.tasks.bandit import tokens as bandit_tokens

MODELS = {"linear_attention": {"init_scale": 0.1}, "transformer": {"num_layers": 2, "num_heads": 2, "d_model": 32}}


def uncached_rollout(
    graphdef, params, rewards_BxTxA: jax.Array, key: jax.Array, time_feature: bool = False
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Reference rollout: every round reruns the full forward pass over the history; (actions, observed, logits)."""
    num, horizon, num_actions = rewards_BxTxA.shape
    keys_T = jax.random.split(key, horizon)  # the same per-round keys as bandit_rollout.rollout

    def round_fn(t, carry):
        actions_BxT, observed_BxT, logits_BxTxA = carry
        logits_BxA = bandit_rollout.teacher_forced_logits(
            graphdef, params, actions_BxT, observed_BxT, num_actions, time_feature
        )[:, t]
        a_B = jax.random.categorical(keys_T[t], logits_BxA, axis=-1)
        r_B = jnp.take_along_axis(rewards_BxTxA[:, t], a_B[:, None], axis=-1)[:, 0]
        return (actions_BxT.at[:, t].set(a_B), observed_BxT.at[:, t].set(r_B), logits_BxTxA.at[:, t].set(logits_BxA))

    init = (
        jnp.zeros((num, horizon), jnp.int32),
        jnp.zeros((num, horizon), jnp.float32),
        jnp.zeros((num, horizon, num_actions), jnp.float32),
    )
    return jax.lax.fori_loop(0, horizon, round_fn, init)


def measure(name: str, num: int, horizon: int, num_actions: int, repeats: int) -> dict:
    """Cached vs uncached at one size: times, compile times, agreement."""
    dim = bandit_tokens.token_dim(num_actions)
    graphdef, params = nnx.split(models.make_model(name, num_actions, seed=0, input_dim=dim, **MODELS[name]))
    key_table, key_roll = jax.random.split(jax.random.key(0))
    rewards = jax.random.bernoulli(key_table, 0.5, (num, horizon, num_actions)).astype(jnp.float32)
    row = {"model": name, "B": num, "T": horizon, "A": num_actions}
    outs = {}
    for kind, fn in (
        ("cached", lambda p, r, k: bandit_rollout.rollout(graphdef, p, r, k)[:2]),
        ("uncached", lambda p, r, k: uncached_rollout(graphdef, p, r, k)[:2]),
    ):
        start = time.perf_counter()
        compiled = jax.jit(fn).lower(params, rewards, key_roll).compile()
        row[f"{kind}_compile_s"] = time.perf_counter() - start
        start = time.perf_counter()
        outs[kind] = jax.block_until_ready(compiled(params, rewards, key_roll))
        first_s = time.perf_counter() - start
        # Calls over a second are timed once more (the noise is small next to the gap being measured).
        row[f"{kind}_s"] = min(
            first_s,
            best_time(
                lambda: compiled(params, rewards, key_roll),  # noqa: B023 - called inside this iteration
                1 if first_s > 1.0 else repeats,
            ),
        )
        row[f"{kind}_env_steps_per_s"] = num * horizon / row[f"{kind}_s"]
    row["same_actions"] = bool(np.array_equal(np.asarray(outs["cached"][0]), np.asarray(outs["uncached"][0])))
    row["speedup"] = row["uncached_s"] / row["cached_s"]
    print(
        f"  {name} B={num} T={horizon}: cached {row['cached_s'] * 1e3:.1f} ms, uncached "
        f"{row['uncached_s'] * 1e3:.1f} ms ({row['speedup']:.1f}x), same actions {row['same_actions']}",
        flush=True,
    )
    return row


def slopes(rows: list[dict]) -> dict:
    """Log-log slope of run time in T, per kind."""
    logs = np.log([r["T"] for r in rows])
    return {
        kind: float(np.polyfit(logs, np.log([r[f"{kind}_s"] for r in rows]), 1)[0]) for kind in ("cached", "uncached")
    }


def main() -> None:
    """Run every model and horizon, print a line each, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/bandit_rollout_cpu.json")
    parser.add_argument("--quick", action="store_true", help="small sizes (tests)")
    args = parser.parse_args()
    sizes = {"linear_attention": (4096, (25, 50, 100, 200)), "transformer": (512, (25, 50, 100, 200))}
    if args.quick:
        sizes = {name: (16, (8, 16)) for name in sizes}
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "jax": jax.__version__,
            "backend": jax.default_backend(),
            "load_avg_1_5_15": list(os.getloadavg()),
        },
        "models": {},
    }
    for name, (num, horizons) in sizes.items():
        rows = [measure(name, num, t, 5, 2 if args.quick else 5) for t in horizons]
        result["models"][name] = {"model_kwargs": MODELS[name], "rows": rows, "loglog_slope_in_T": slopes(rows)}
        print(f"  {name}: log-log slope in T {result['models'][name]['loglog_slope_in_T']}", flush=True)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
