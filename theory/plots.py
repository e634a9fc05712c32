"""Figures of the fixed-point study, drawn from fixed_point.json's dict (so a notebook can redraw them)."""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; a notebook re-enables inline display itself
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _f(values: list) -> np.ndarray:
    """A trace as floats (None -> NaN)."""
    return np.array([np.nan if v is None else v for v in values], np.float64)


def traces_figure(results: dict[str, Any]) -> plt.Figure:
    """eta-hat, TV, structure and regret over the RMFT iterations."""
    tr, base = results["traces"], results["baselines"]
    it = _f(tr["iteration"])
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    ax = axes[0, 0]
    ax.plot(it, _f(tr["eta_hat"]), label="eta-hat (Hedge fit)")
    ax.plot(it, _f(tr["projected_eta"]), "--", label="trace(C W_eff)/(A-1)")
    for value, style, name in (
        (results["eta_regret_optimal"], ":", "regret-optimal eta"),
        (results["eta_theory"], "-.", "sqrt(8 ln A / T)"),
        (results["eta_star"], "-", "eta* (iteration map)"),
    ):
        if np.isfinite(value):
            ax.axhline(value, ls=style, c="gray" if style != "-" else "tab:red", lw=1, label=f"{name} = {value:.3g}")
    ax.set_yscale("log")
    ax.set_ylabel("eta")
    ax = axes[0, 1]
    ax.plot(it, _f(tr["tv_distance"]), label="TV to Hedge(eta-hat)")
    ax.plot(it, _f(tr["tv_distance_l2"]), label="TV to Euclidean FTRL(eta-hat_l2)")
    ax.axhline(0.05, c="gray", ls=":", lw=1, label="0.05")
    ax.set_ylabel("mean total variation")
    ax = axes[1, 0]
    for key, name in (
        ("structure_residual", "||C W_eff - eta-hat C|| / ||C W_eff||"),
        ("bias_fraction", "bias part of centered logits"),
        ("nonlinear_fraction", "non-linear part of centered logits"),
        ("attention_weight_cv", "attention weight CV"),
    ):
        ax.plot(it, _f(tr[key]), label=name)
    ax.axhline(0.15, c="gray", ls=":", lw=1, label="0.15")
    ax.set_ylabel("relative size")
    ax.set_ylim(0, min(2.0, np.nanmax(_f(tr["structure_residual"])) * 1.1 + 0.05))
    ax = axes[1, 1]
    ax.plot(it, _f(tr["model_regret"]), label="RMFT model")
    ax.plot(it, _f(tr["hedge_eta_hat_regret"]), label="Hedge(eta-hat)")
    ax.axhline(
        base["tuned_entropy"]["regret"],
        c="gray",
        ls=":",
        lw=1,
        label=f"regret-optimal Hedge (eta {base['tuned_entropy']['eta']:.3g})",
    )
    ax.axhline(base["theory_hedge"]["regret"], c="gray", ls="-.", lw=1, label="Hedge, eta = sqrt(8 ln A / T)")
    ax.set_yscale("log")
    ax.set_ylabel("held-out expected regret at T")
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("RMFT iteration")
    setting = results["setting"]
    start = f", from Hedge({setting['init_eta']:.3g})" if setting.get("init_eta") else ""
    fig.suptitle(f"RMFT vs the FTRL family ({', '.join(setting['scenarios'])}, seed {setting['seed']}{start})")
    fig.tight_layout()
    return fig


def map_figure(results: dict[str, Any]) -> plt.Figure:
    """eta -> eta' (one RMFT iteration from Hedge(eta)), the relative move eta'/eta, and the TV it leaves."""
    m = results["iteration_map"]
    etas, mean, every = np.array(m["etas"]), np.array(m["eta_next_mean"]), np.array(m["eta_next_all"])
    fig, (ax, ax_ratio, ax_tv) = plt.subplots(1, 3, figsize=(15, 4.8), gridspec_kw={"width_ratios": [3, 3, 2]})
    for r in range(every.shape[1]):
        ax.plot(etas, every[:, r], ".", c="tab:blue", alpha=0.35)
        ax_ratio.plot(etas, every[:, r] / etas, ".", c="tab:blue", alpha=0.35)
    ax.plot(etas, mean, "o-", c="tab:blue", label="eta' (geometric mean over keys)")
    ax.plot(etas, etas, "k--", lw=1, label="eta' = eta")
    ax_ratio.plot(etas, mean / etas, "o-", c="tab:blue", label="eta' / eta")
    ax_ratio.axhline(1.0, c="k", ls="--", lw=1)
    for p in m["fixed_points"]:
        style = dict(c="tab:red" if p["stable"] else "tab:orange", ms=8)
        ax.plot(
            p["eta_star"],
            p["eta_star"],
            "s",
            **style,
            label=f"eta* = {p['eta_star']:.3g} ({'stable' if p['stable'] else 'unstable'}, slope {p['slope']:.2f})",
        )
        ax_ratio.plot(p["eta_star"], 1.0, "s", **style)
    for a in (ax, ax_ratio):
        a.axvline(
            results["eta_hat"], c="tab:green", ls=":", label=f"eta-hat of the full run = {results['eta_hat']:.3g}"
        )
        a.axvline(
            results["eta_regret_optimal"],
            c="gray",
            ls=":",
            label=f"regret-optimal eta = {results['eta_regret_optimal']:.3g}",
        )
        a.set_xscale("log")
        a.set_xlabel("eta (start: Hedge(eta) parameters)")
        a.grid(alpha=0.3, which="both")
    ax.set_yscale("log")
    ax.set_ylabel("eta' (eta-hat after one RMFT iteration)")
    ax.legend(fontsize=7)
    ax_ratio.set_ylabel("eta' / eta (above 1: the iteration raises eta)")
    if m.get("tv_next_mean") is not None:
        ax_tv.plot(etas, m["tv_next_mean"], "o-")
    ax_tv.set_xscale("log")
    ax_tv.set_ylim(bottom=0)
    ax_tv.set_xlabel("eta")
    ax_tv.set_ylabel("TV of the result to Hedge(eta')")
    ax_tv.set_title("how far one iteration leaves the FTRL family", fontsize=9)
    ax_tv.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def operator_figure(results: dict[str, Any]) -> plt.Figure:
    """Centered W_eff next to eta-hat C, and the centered bias and drift."""
    W = np.array(results["operator"]["centered_W_eff"])
    A = W.shape[0]
    target = results["eta_hat"] * (np.eye(A) - 1.0 / A)
    lim = np.abs(np.concatenate([W, target])).max()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.0), layout="constrained")
    panels = ((axes[0], W, "C W_eff (learned)"), (axes[1], target, f"eta-hat C, eta-hat = {results['eta_hat']:.3g}"))
    for ax, mat, title in panels:
        im = ax.imshow(mat, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(title)
        ax.set_xlabel("cumulative reward of action")
        ax.set_ylabel("logit of action")
    fig.colorbar(im, ax=axes[:2], shrink=0.8)
    for vec, name, shift in (
        (results["operator"]["bias"], "bias b", -0.2),
        (results["operator"]["drift"], "drift d per round", 0.2),
    ):
        vec = np.array(vec)
        axes[2].bar(np.arange(A) + shift, vec - vec.mean(), width=0.4, label=f"centered {name}")
    axes[2].set_title(f"residual {results['structure_residual']:.3f}, TV {results['tv_distance']:.3f}")
    axes[2].set_xlabel("action")
    axes[2].legend(fontsize=7)
    return fig


def write_figures(results: dict[str, Any], workdir: str) -> list[str]:
    """traces.png, iteration_map.png and operator.png in `workdir`; returns their paths."""
    paths = []
    for name, make in (("traces", traces_figure), ("iteration_map", map_figure), ("operator", operator_figure)):
        fig = make(results)
        paths.append(os.path.join(workdir, f"{name}.png"))
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
