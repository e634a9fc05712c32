"""Matplotlib figures: regret curves with confidence bands, metrics over iterations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def mean_and_band(curves_NxT: np.ndarray, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Mean curve over runs and the half-width of its normal-approximation confidence band."""
    curves_NxT = np.asarray(curves_NxT, np.float64)
    if curves_NxT.ndim == 1:
        return curves_NxT, np.zeros_like(curves_NxT)
    num = curves_NxT.shape[0]
    half = z * curves_NxT.std(axis=0, ddof=1) / np.sqrt(num) if num > 1 else np.zeros(curves_NxT.shape[1])
    return curves_NxT.mean(axis=0), half


def plot_regret_panels(
    panels: Mapping[str, Mapping[str, np.ndarray]],
    path: str,
    ylabel: Mapping[str, str] | None = None,
    log_scale: bool = False,
) -> None:
    """One panel per setting; each line is a method's mean regret curve with a 95% band.

    panels: {panel title: {method name: curves (N, T) or a mean curve (T,)}}.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.0), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels.items(), strict=True):
        for name, curves_NxT in curves.items():
            mean_T, half_T = mean_and_band(curves_NxT)
            rounds_T = np.arange(1, mean_T.shape[0] + 1)
            (line,) = ax.plot(rounds_T, mean_T, label=name, lw=1.6)
            ax.fill_between(rounds_T, mean_T - half_T, mean_T + half_T, color=line.get_color(), alpha=0.2)
        ax.set_title(title)
        ax.set_xlabel("round t")
        ax.set_ylabel((ylabel or {}).get(title, "regret"))
        if log_scale:
            ax.set_xscale("log")
            ax.set_yscale("symlog", linthresh=1.0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_series(series: Mapping[str, Sequence[float]], path: str, xlabel: str = "iteration", title: str = "") -> None:
    """Stacked line plots of scalar series that share an x axis (e.g. metrics over iterations)."""
    fig, axes = plt.subplots(len(series), 1, figsize=(6.0, 2.4 * len(series)), squeeze=False, sharex=True)
    for ax, (name, values) in zip(axes[:, 0], series.items(), strict=True):
        ax.plot(np.arange(len(values)), np.asarray(values, np.float64), marker=".", lw=1.4)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(xlabel)
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def bar_panel(
    ax,
    labels: list[str],
    means: list[float],
    halves: list[float],
    ref: float,
    ref_label: str,
    title: str,
    ylabel: str,
    color: str = "tab:blue",
) -> None:
    """Bars with 95% error bars (NaN half-widths drawn as 0) and a dashed reference line."""
    ax.bar(range(len(labels)), means, yerr=np.nan_to_num(halves), capsize=4, color=color, alpha=0.8)
    ax.axhline(ref, color="tab:orange", ls="--", lw=1.2, label=ref_label)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")


def plot_ablations(studies: Mapping[str, Mapping], path: str) -> None:
    """One panel per study: each arm's final held-out regret, mean over seeds with its 95% interval."""
    names = [n for n in studies if "arms" in studies[n]]
    gen = studies.get("generalization")
    num = len(names) + (1 if gen else 0)
    fig, axes = plt.subplots(1, max(num, 1), figsize=(3.6 * max(num, 1), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        arms = studies[name]["arms"]
        hedge = np.mean([arms[a]["ftrl"]["eval_regret"]["mean"] for a in arms])
        bar_panel(
            ax,
            list(arms),
            [arms[a]["final"]["eval_regret"]["mean"] for a in arms],
            [arms[a]["final"]["eval_regret"]["ci95"] for a in arms],
            hedge,
            "tuned Hedge",
            name,
            "final held-out regret",
        )
    if gen:
        ax = axes[0][len(names)]
        settings = gen["settings"]
        bar_panel(
            ax,
            list(settings),
            [settings[s]["ratio_to_tuned_hedge"]["mean"] for s in settings],
            [settings[s]["ratio_to_tuned_hedge"]["ci95"] for s in settings],
            1.0,
            "tuned Hedge = 1",
            "generalization",
            "regret / tuned Hedge",
            color="tab:green",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_worst_case(
    worst: Mapping[str, Mapping[str, float]], horizons: Sequence[int], path: str, title: str = "worst found regret"
) -> None:
    """Log-log worst found regret against T per method, with a c sqrt(T) reference line."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    horizons_H = np.asarray(horizons, float)
    for name, row in worst.items():
        values_H = np.asarray([row[str(t)] for t in horizons], float)
        ax.plot(horizons_H, np.maximum(values_H, 1e-3), marker="o", lw=1.6, label=name)
    ref = worst.get("hedge_anytime") or next(iter(worst.values()))
    scale = float(ref[str(horizons[0])]) / np.sqrt(horizons_H[0])
    ax.plot(horizons_H, scale * np.sqrt(horizons_H), "k--", lw=1, label="c sqrt(T)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("horizon T")
    ax.set_ylabel("worst found regret (a lower bound)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_tradeoff(arms: Mapping[str, Mapping], path: str) -> None:
    """Per-seed (on-distribution, worst found) points over AdaHedge's, arm means with 95% bars, the Pareto front,
    and tuned Hedge and the Bayes limit as reference points (over tuned Hedge's when AdaHedge was not measured)."""
    first = next(iter(arms.values()))
    ref = "adahedge" if "adahedge_regret" in first["per_seed"][0] else "hedge"
    ratio_x, ratio_y = (
        ("regret_ratio_adahedge", "worst_ratio_adahedge") if ref == "adahedge" else ("regret_ratio", "worst_ratio")
    )
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    means = []
    for name, arm in arms.items():
        xs = [r["regret"] / r[f"{ref}_regret"] for r in arm["per_seed"]]
        ys = [r["worst"] / r[f"{ref}_worst"] for r in arm["per_seed"]]
        (dots,) = ax.plot(xs, ys, "o", ms=3, alpha=0.5)
        mx, my = arm[ratio_x], arm[ratio_y]
        ax.errorbar(
            mx["mean"],
            my["mean"],
            xerr=mx["ci95"],
            yerr=my["ci95"],
            fmt="s",
            color=dots.get_color(),
            ms=6,
            capsize=3,
            label=name,
        )
        means.append((mx["mean"], my["mean"]))
    front = sorted(p for p in means if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in means))
    if len(front) > 1:
        ax.plot(*zip(*front, strict=True), "k-", lw=0.8, alpha=0.6, label="Pareto front (arm means)")
    if ref == "adahedge":
        rows = first["per_seed"]
        mean = lambda k: float(np.mean([r[k] for r in rows]))  # noqa: E731
        for key, marker, label in (("hedge", "D", "tuned Hedge (in-sample)"), ("bayes", "*", "Bayes limit of the mix")):
            ax.plot(
                mean(f"{key}_regret") / mean("adahedge_regret"),
                mean(f"{key}_worst") / mean("adahedge_worst"),
                marker,
                color="black",
                ms=8,
                label=label,
            )
        ax.plot(1.0, 1.0, "P", color="black", ms=8, label="AdaHedge")
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    goal_x = 0.9 if ref == "adahedge" else 0.8
    ax.plot(
        [goal_x, goal_x, ax.get_xlim()[0]],
        [ax.get_ylim()[0], 1.25, 1.25],
        "g--",
        lw=0.8,
        label=f"best of both worlds ({goal_x}x, 1.25x)",
    )
    ax.set_yscale("log")
    name = "AdaHedge" if ref == "adahedge" else "tuned Hedge"
    ax.set_xlabel(f"held-out regret on the default mix / {name}'s")
    ax.set_ylabel(f"worst found regret / {name}'s (log)")
    ax.set_title("adversarial share: on-distribution vs worst case")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_paradigms(rows: list[dict], path: str) -> None:
    """Per setting: each paradigm's regret and worst found regret at T, and mean transfer, over tuned Hedge's."""
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    fig, axes = plt.subplots(len(settings), 3, figsize=(11, 3.4 * len(settings)), squeeze=False)
    for ax_row, setting in zip(axes, settings, strict=True):
        mine = [r for r in rows if r["setting"] == setting]
        arms = [r["arm"] for r in mine]
        bar_panel(
            ax_row[0],
            arms,
            [r["ratio_to_tuned_hedge"]["mean"] for r in mine],
            [r["ratio_to_tuned_hedge"]["ci95"] for r in mine],
            1.0,
            "tuned Hedge",
            f"{setting}: on-distribution",
            "regret / tuned Hedge",
        )
        hedge = mine[0]["hedge_worst_found"]["mean"]
        bar_panel(
            ax_row[1],
            arms,
            [r["worst_found"]["mean"] for r in mine],
            [r["worst_found"]["ci95"] for r in mine],
            hedge,
            "tuned Hedge",
            f"{setting}: worst found at T (lower bound)",
            "regret",
            color="tab:red",
        )
        transfer = [[v["mean"] for k, v in r.items() if k.startswith("transfer:")] for r in mine]
        bar_panel(
            ax_row[2],
            arms,
            [float(np.mean(t)) for t in transfer],
            [0.0] * len(mine),
            1.0,
            "tuned Hedge",
            f"{setting}: mean over transfer tests",
            "regret / tuned Hedge",
            color="tab:green",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
