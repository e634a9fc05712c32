"""Markdown tables from bench_rmft's JSON: python -m benchmarks.rmft_tables [benchmarks/results/rmft_cpu.json]."""

from __future__ import annotations

import json
import sys


def MS(s):
    """Seconds as a short string: milliseconds below one second."""
    return f"{1e3 * s:.1f} ms" if s < 1 else f"{s:.2f} s"


def side_by_side(result: dict) -> str:
    """Ours vs naive per config: phases, iteration, speedup, env-steps/s, fraction of the roofline bound."""
    lines = [
        "| config | implementation | rollout | selection | SFT | iteration | speedup | env-steps/s | "
        "fraction of bound | compile |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["side_by_side"].items():
        ours, naive = row["ours"], row["naive"]
        bound = row["ceiling"]["iteration"]["bound_s"]
        for label, r, speed, rate in (
            ("ours (one causal pass, fused scan)", ours, row["speedup_iteration"], row["ours_env_steps_per_s"]),
            ("straightforward (per-round scan, Python SFT loop)", naive, 1.0, row["naive_env_steps_per_s"]),
        ):
            lines.append(
                f"| `{name}` | {label} | {MS(r['rollout_s'])} | {MS(r['select_s'])} | {MS(r['sft_s'])} | "
                f"**{MS(r['iteration_s'])}** | {speed:.1f}x | {rate:.2g} | {bound / r['iteration_s']:.0%} | "
                f"{r['compile_s']:.1f} s |"
            )
    return "\n".join(lines)


def evaluation_and_memory(result: dict) -> str:
    """Held-out evaluation time and XLA's peak-memory estimate of our fused iteration."""
    lines = ["| config | evaluation (held-out set) | peak memory of the iteration (XLA buffers) |", "|---|---|---|"]
    for name, row in result["side_by_side"].items():
        lines.append(f"| `{name}` | {MS(row['ours']['eval_s'])} | {row['ours']['peak_bytes'] / 2**20:.1f} MiB |")
    return "\n".join(lines)


def scaling(result: dict) -> str:
    """One row per (model, axis): times at each value and the log-log slope per phase."""
    lines = [
        "| model | axis | values | iteration (rollout+selection+SFT) | rollout | SFT | slope: iteration / "
        "rollout / SFT | fraction of bound |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, axes in result["scaling"].items():
        for axis, data in axes.items():
            rows, slope = data["rows"], data["loglog_slope"]
            vals = ", ".join(str(r["value"]) for r in rows)

            def col(key):
                return ", ".join(MS(r[key]) for r in rows)  # noqa: B023 - called inside this iteration

            frac = ", ".join(f"{r['fraction_of_bound']:.0%}" for r in rows)
            lines.append(
                f"| {model} | {axis} | {vals} | {col('iteration_phases_s')} | {col('rollout_s')} | "
                f"{col('sft_s')} | {slope['iteration_phases_s']:.2f} / {slope['rollout_s']:.2f} / "
                f"{slope['sft_s']:.2f} | {frac} |"
            )
            if "naive_rollout_s" in rows[0]:
                lines.append(
                    f"| {model} | {axis}, straightforward rollout | {vals} | | {col('naive_rollout_s')} | | "
                    f"{slope['naive_rollout_s']:.2f} (rollout) | |"
                )
    return "\n".join(lines)


def machine(result: dict) -> str:
    """One line on the machine and its measured rates."""
    m = result["machine"]
    return (
        f"{m['cpu_count']} CPU cores, jax {m['jax']} ({m['backend']}); measured matmul "
        f"{m['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s, copy {m['copy_bytes_per_s'] / 1e9:.0f} GB/s, exp "
        f"{m['exp_per_s'] / 1e9:.2f} G/s; load average {m['load_avg_1_5_15'][0]:.1f} at the start, "
        f"{m.get('load_avg_after', [float('nan')])[0]:.1f} at the end; best of {result['repeats']}."
    )


def main() -> None:
    """Print every table."""
    path = sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/rmft_cpu.json"
    with open(path) as fh:
        result = json.load(fh)
    print(machine(result), side_by_side(result), evaluation_and_memory(result), scaling(result), sep="\n\n")


if __name__ == "__main__":
    main()
