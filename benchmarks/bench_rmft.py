"""FOL RMFT speed: ours vs a straightforward JAX implementation, phase split, scaling, machine ceiling.

    python -m benchmarks.bench_rmft [--out benchmarks/results/rmft_cpu.json] [--quick] [--plot PNG]

1. side by side at the default configs (`fol_single_layer`; `fol_multi_layer` unless --quick): one
   iteration of ours (one compiled call) vs `benchmarks/naive_rmft.py` (per-round scan rollout that
   recomputes the prefix, Python loop over jitted SFT steps), split into rollout, selection, SFT
   (and, ours only, held-out evaluation); both must give the same policies and SFT loss;
2. scaling: each phase's time as M, L, T, A (single layer) and T, width, depth (transformer) grow,
   one axis at a time, with the log-log slope per axis;
3. ceiling: XLA's FLOPs/bytes/transcendentals per phase against the machine's measured matmul, copy
   and exp rates; the roofline bound max(FLOPs/matmul, bytes/copy, exps/exp) over the measured time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource

import jax
import numpy as np

from benchmarks import rmft_phases
from benchmarks.bench_baselines import copy_rate, exp_rate
from experiments.configs import fol_multi_layer, fol_single_layer

SINGLE_AXES = {
    "M": ("rmft", "num_scenarios", (128, 256, 512, 1024)),
    "L": ("rmft", "num_rollouts", (8, 16, 32, 64)),
    "T": ("env", "horizon", (25, 50, 100, 200)),
    "A": ("env", "num_actions", (5, 10, 20, 40)),
}
TRANSFORMER_AXES = {
    "T": ("env", "horizon", (25, 50, 100, 200)),
    "width": ("model", "d_model", (16, 32, 64, 128)),
    "depth": ("model", "num_layers", (1, 2, 4, 8)),
}
PHASES = ("rollout_s", "select_s", "sft_s", "eval_s")


def matmul_rate(n: int = 1024) -> float:
    """Measured jitted float32 matmul rate, FLOP/s."""
    x = jax.random.normal(jax.random.key(0), (n, n))
    f = jax.jit(lambda a: a @ a)
    f(x).block_until_ready()
    return 2.0 * n**3 / rmft_phases.best_time(lambda: f(x), 5)


def machine(quick: bool) -> dict:
    """Platform, devices, and the measured rates that bound the work."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "load_avg_1_5_15": list(os.getloadavg()),
        "matmul_flops_per_s": matmul_rate(512 if quick else 1024),
        "copy_bytes_per_s": copy_rate(1 << (24 if quick else 27)),
        "exp_per_s": exp_rate(1 << (20 if quick else 24)),
    }


def roofline(cost: dict, rates: dict) -> float:
    """Lower bound in seconds: the slowest of compute, memory traffic and exponentials."""
    return max(
        cost["flops"] / rates["matmul_flops_per_s"],
        cost["bytes accessed"] / rates["copy_bytes_per_s"],
        cost["transcendentals"] / rates["exp_per_s"],
    )


def ceiling(result: dict, rates: dict) -> dict:
    """Per-phase roofline bounds and the fraction of the bound our measured time reaches."""
    out = {}
    for phase, cost in result["cost"].items():
        bound = roofline(cost, rates)
        out[phase] = {"bound_s": bound, "fraction_of_bound": bound / result[f"{phase}_s"], **cost}
    bound = sum(out[p]["bound_s"] for p in ("rollout", "select", "sft"))
    out["iteration"] = {"bound_s": bound, "fraction_of_bound": bound / result.get("iteration_s", np.nan)}
    return out


def side_by_side(name: str, cfg, repeats: int, rates: dict) -> dict:
    """Ours vs naive at one config, with the agreement check and the ceiling."""
    s = cfg.rmft
    steps = s.num_scenarios * s.num_rollouts * cfg.env.horizon
    ours, naive = rmft_phases.ours(cfg, repeats), rmft_phases.naive(cfg, repeats)
    row = {
        "config": name,
        "M": s.num_scenarios,
        "L": s.num_rollouts,
        "k": s.num_selected,
        "T": cfg.env.horizon,
        "A": cfg.env.num_actions,
        "sft_steps": cfg.sft.num_steps,
        "model": cfg.model.to_dict(),
        "ours": ours,
        "naive": naive,
        "agreement": rmft_phases.agreement(cfg),
        "speedup_iteration": naive["iteration_s"] / ours["iteration_s"],
        "speedup_rollout": naive["rollout_s"] / ours["rollout_s"],
        "speedup_sft": naive["sft_s"] / ours["sft_s"],
        "ours_env_steps_per_s": steps / ours["iteration_s"],
        "naive_env_steps_per_s": steps / naive["iteration_s"],
        "ours_rollout_env_steps_per_s": steps / ours["rollout_s"],
    }
    row["ceiling"] = ceiling(ours, rates)
    row["naive_fraction_of_bound"] = row["ceiling"]["iteration"]["bound_s"] / naive["iteration_s"]
    return row


def scale(base_fn, axes: dict, repeats: int, rates: dict) -> dict:
    """Each phase's time along each axis (others at base), the log-log slopes and the ceiling fraction."""
    table = {}
    for axis, (section, field, values) in axes.items():
        rows = []
        for value in values:
            cfg = base_fn()
            cfg[section][field] = value
            res = rmft_phases.ours(cfg, repeats, fused=False)
            ceil = ceiling(res, rates)
            rows.append(
                {
                    "value": value,
                    **{p: res[p] for p in PHASES},
                    "iteration_phases_s": res["iteration_phases_s"],
                    "fraction_of_bound": ceil["iteration"]["bound_s"] / res["iteration_phases_s"],
                    "flops": sum(res["cost"][p]["flops"] for p in ("rollout", "select", "sft")),
                }
            )
            if axis == "T":  # the per-round scan that recomputes the prefix, for comparison
                rows[-1]["naive_rollout_s"] = rmft_phases.naive_rollout(cfg, 1 if value > 100 else repeats)
            print(
                f"  {axis}={value}: " + " ".join(f"{p}={rows[-1][p]:.4f}" for p in rows[-1] if p.endswith("_s")),
                flush=True,
            )
        logs = np.log([r["value"] for r in rows])
        slopes = {p: float(np.polyfit(logs, np.log([r[p] for r in rows]), 1)[0]) for p in rows[0] if p.endswith("_s")}
        table[axis] = {"rows": rows, "loglog_slope": slopes}
    return table


def plot(scaling: dict, path: str) -> None:
    """One log-log panel per axis: each phase's time (and the straightforward rollout's) against the axis."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(model, axis, data) for model, axes in scaling.items() for axis, data in axes.items()]
    cols = (len(panels) + 1) // 2
    fig, axs = plt.subplots(2, cols, figsize=(3.4 * cols, 6.4), squeeze=False)
    for ax, (model, axis, data) in zip(axs.flat, panels, strict=False):
        xs = [r["value"] for r in data["rows"]]
        for p in PHASES + ("naive_rollout_s",):
            if p in data["rows"][0]:
                style = "s--" if p.startswith("naive") else "o-"
                ax.loglog(xs, [r[p] for r in data["rows"]], style, label=p[:-2].replace("_", " "))
        ax.set_title(f"{model}: {axis}", fontsize=9)
        ax.set_xticks(xs, [str(x) for x in xs], minor=False)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(axis)
        ax.set_ylabel("seconds")
    for ax in list(axs.flat)[len(panels) :]:
        ax.axis("off")
    axs.flat[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def quick_cfg(cfg):
    """Shrink a config for --quick (smoke test of the benchmark itself)."""
    cfg.rmft.num_scenarios, cfg.rmft.num_rollouts, cfg.env.horizon, cfg.sft.num_steps = 32, 4, 12, 5
    cfg.eval.num_scenarios = 64
    return cfg


def main() -> None:
    """Parse flags, run the side-by-side, the scaling table and the ceiling; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/rmft_cpu.json")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and two points per axis, for a smoke test")
    parser.add_argument("--plot", default="", help="also write a log-log PNG of the scaling table here")
    parser.add_argument("--replot", default="", help="only redraw --plot from this JSON (no measuring)")
    parser.add_argument("--repeats", type=int, default=0, help="best of this many runs (default 5; 2 with --quick)")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    if args.replot:
        with open(args.replot) as fh:
            return plot(json.load(fh)["scaling"], args.plot or "rmft_scaling.png")
    rates = machine(args.quick)
    print(f"machine: {json.dumps(rates)}", flush=True)

    def single():
        return quick_cfg(fol_single_layer.get_config()) if args.quick else fol_single_layer.get_config()

    def multi():
        return quick_cfg(fol_multi_layer.get_config()) if args.quick else fol_multi_layer.get_config()

    result = {"machine": rates, "repeats": repeats, "side_by_side": {}}
    for name, fn in (("fol_single_layer", single), ("fol_multi_layer", multi))[: 1 if args.quick else 2]:
        row = side_by_side(name, fn(), repeats, rates)
        result["side_by_side"][name] = row
        print(
            f"{name}: ours {row['ours']['iteration_s']:.4f}s naive {row['naive']['iteration_s']:.4f}s "
            f"speedup {row['speedup_iteration']:.2f}x agreement {row['agreement']}",
            flush=True,
        )

    def trim(axes):
        return {a: (sec, f, v[:2]) for a, (sec, f, v) in axes.items()} if args.quick else axes

    result["scaling"] = {
        "linear_attention": scale(single, trim(SINGLE_AXES), repeats, rates),
        "transformer": scale(multi, trim(TRANSFORMER_AXES), max(2, repeats - 2), rates),
    }
    result["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["machine"]["load_avg_after"] = list(os.getloadavg())
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    if args.plot:
        plot(result["scaling"], args.plot)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
