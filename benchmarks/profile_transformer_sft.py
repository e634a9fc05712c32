"""Where the transformer's SFT time goes: one step's forward and gradient, XLA's cost analysis, the largest arrays.

    python -m benchmarks.profile_transformer_sft [--out benchmarks/results/transformer_sft_profile_cpu.json]

At the `fol_multi_layer` default (M 256 scenarios, T 50, 2 layers, 2 heads, d_model 32, MLP 4x): the best time of the
forward pass, of one gradient of the imitation loss and of the whole SFT update (sft.num_steps Adam steps), the
gradient's FLOPs and bytes accessed (XLA's cost analysis) against this machine's matmul and copy rates, and how many
values of each large shape (>= 1M floats) the compiled gradient holds: a count of the passes over each tensor.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import platform
import re

import jax

from benchmarks.bench_baselines import copy_rate
from benchmarks.bench_rmft import matmul_rate
from benchmarks.bench_sft_form import best_of
from experiments.configs import fol_multi_layer
from rmft_jax import models
from rmft_jax.core import sft
from rmft_jax.core.loop import SFTBatch
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import workdir_files


def large_values(hlo_text: str, min_floats: int = 1_000_000) -> list[dict]:
    """Shapes of the float32 values of at least `min_floats` entries in compiled HLO, with how many values have each."""
    counts = collections.Counter()
    for match in re.finditer(r"= f32\[([0-9,]+)\]", hlo_text):
        shape = tuple(int(v) for v in match.group(1).split(","))
        if math.prod(shape) >= min_floats:
            counts[shape] += 1
    rows = [{"shape": list(s), "values": n, "mbytes_each": 4 * math.prod(s) / 1e6} for s, n in counts.items()]
    return sorted(rows, key=lambda r: -r["values"] * r["mbytes_each"])


def main() -> None:
    """Time, cost-analyse and list the large values of the default transformer's SFT; write JSON; print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/transformer_sft_profile_cpu.json")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cfg = fol_multi_layer.get_config()
    m, t, a = int(cfg.rmft.num_scenarios), int(cfg.env.horizon), int(cfg.env.num_actions)
    graphdef, params = fol.build_model(cfg, seed=0)
    rewards = jax.random.uniform(jax.random.key(0), (m, t, a))
    targets = jax.nn.one_hot(jax.random.randint(jax.random.key(1), (m, t), 0, a), a)
    optimizer = fol.build_optimizer(cfg)

    def apply(p, x):
        return models.apply(graphdef, p, x)

    forward = jax.jit(apply)
    grad = jax.jit(jax.grad(lambda p: sft.imitation_loss(apply(p, rewards), targets)))
    update = jax.jit(sft.make_update(apply, optimizer, int(cfg.sft.num_steps)))
    compiled = grad.lower(params).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    rates = {"matmul_flops_per_s": matmul_rate(), "copy_bytes_per_s": copy_rate(1 << 27)}
    out = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), **rates},
        "config": {"M": m, "T": t, "A": a, "sft_steps": int(cfg.sft.num_steps), "model": cfg.model.to_dict()},
        "forward_s": best_of(forward, (params, rewards), args.repeats),
        "gradient_s": best_of(grad, (params,), args.repeats),
        "update_s": best_of(update, (params, optimizer.init(params), SFTBatch(rewards, targets, None)), args.repeats),
        "gradient_flops": float(cost.get("flops", 0.0)),
        "gradient_bytes_accessed": float(cost.get("bytes accessed", 0.0)),
        "large_values": large_values(compiled.as_text()),
    }
    out["gradient_flops_bound_s"] = out["gradient_flops"] / rates["matmul_flops_per_s"]
    out["gradient_bytes_bound_s"] = out["gradient_bytes_accessed"] / rates["copy_bytes_per_s"]
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    workdir_files.write_json_atomic(args.out, out)
    print(
        f"forward {out['forward_s'] * 1e3:.1f} ms, gradient {out['gradient_s'] * 1e3:.1f} ms, update "
        f"({cfg.sft.num_steps} steps) {out['update_s'] * 1e3:.1f} ms; gradient {out['gradient_flops'] / 1e9:.2f} GFLOP "
        f"(bound {out['gradient_flops_bound_s'] * 1e3:.1f} ms), {out['gradient_bytes_accessed'] / 1e9:.2f} GB "
        f"(bound {out['gradient_bytes_bound_s'] * 1e3:.1f} ms)"
    )
    for row in out["large_values"][:5]:
        print(f"  f32{row['shape']}: {row['values']} values of {row['mbytes_each']:.1f} MB")


if __name__ == "__main__":
    main()
