"""Figures of a bandit run: regret curves of every method, training curves, NS-MAB arm choices over time."""

from __future__ import annotations

import os

import numpy as np

from rmft_jax import plotting
from rmft_jax.plotting import plt

LABELS = {
    "initial": "initial model",
    "rmft": "RMFT model",
    "greedy_init": "Greedy imitator",
    "greedy_init_rmft": "Greedy imitator + RMFT",
    "ucb1": "UCB1",
    "thompson": "Thompson",
    "greedy": "Greedy",
    "exp3": "EXP3",
    "sw_ucb": "SW-UCB",
    "d_ucb": "D-UCB",
    "eps_greedy": "eps-Greedy",
}


def plot_arm_choices(demo: dict, path: str) -> None:
    """Per method, the frequency of each arm over rounds, on a background striped by the best arm."""
    means_TxA, choices = demo["means_TxA"], demo["choices"]
    horizon, num_actions = means_TxA.shape
    best_T = np.argmax(means_TxA, axis=-1)
    colors = plt.cm.tab10(np.arange(num_actions))
    fig, axes = plt.subplots(len(choices), 1, figsize=(7.5, 2.2 * len(choices)), sharex=True, squeeze=False)
    for ax, (name, actions_RxT) in zip(axes[:, 0], choices.items(), strict=True):
        for t in range(horizon):
            ax.axvspan(t - 0.5, t + 0.5, color=colors[best_T[t]], alpha=0.12, lw=0)
        freq_TxA = np.stack([np.mean(actions_RxT == a, axis=0) for a in range(num_actions)], axis=1)
        for a in range(num_actions):
            ax.plot(np.arange(horizon), freq_TxA[:, a], color=colors[a], lw=1.4, label=f"arm {a}")
        on_best = np.mean(freq_TxA[np.arange(horizon), best_T])
        ax.set_title(f"{LABELS.get(name, name)}: on the best arm {on_best:.0%} of rounds", fontsize=9)
        ax.set_ylabel("choice freq.")
        ax.set_ylim(0, 1)
    axes[0, 0].legend(fontsize=7, ncol=num_actions, loc="upper right")
    axes[-1, 0].set_xlabel("round t (background: the best arm's colour)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_figures(workdir: str, results: dict, outputs: dict, demo: dict | None) -> None:
    """regret_curves.png, training_curves.png and, for NS-MAB, arm_choices.png."""
    kind = "dynamic regret" if results["task"] == "nsmab" else "pseudo-regret"
    panel = {
        LABELS.get(name, name): np.concatenate([np.asarray(c) for _, _, c in outs]) for name, outs in outputs.items()
    }
    title = f"held-out {results['task'].upper()}, T={results['horizon']}, K={results['num_actions']}"
    plotting.plot_regret_panels({title: panel}, os.path.join(workdir, "regret_curves.png"), ylabel={title: kind})
    series = {}
    for init, run in results["runs"].items():
        evaluated = [r for r in run["history"] if r.get("eval_regret") is not None]
        series[f"{init}: rollout regret"] = [r["rollout_regret"] for r in run["history"]]
        series[f"{init}: held-out regret"] = [r["eval_regret"] for r in evaluated]
        series[f"{init}: SuffFail(T/2)"] = [r["suff_fail_freq"] for r in evaluated]
    if series:
        plotting.plot_series(series, os.path.join(workdir, "training_curves.png"), title="Iterative RMFT (bandit)")
    if demo is not None:
        plot_arm_choices(demo, os.path.join(workdir, "arm_choices.png"))


def plot_studies(studies: dict, path: str) -> None:
    """One panel per bandit study: each arm's final regret (mean over seeds, 95% interval) and the reference."""
    fig, axes = plt.subplots(1, len(studies), figsize=(3.6 * len(studies), 3.6), squeeze=False)
    for ax, (name, study) in zip(axes[0], studies.items(), strict=True):
        arms = study["arms"]
        ref = next(iter(arms.values()))["reference"]
        plotting.bar_panel(
            ax,
            list(arms),
            [a["final"]["regret"]["mean"] for a in arms.values()],
            [a["final"]["regret"]["ci95"] for a in arms.values()],
            ref["regret"],
            LABELS.get(ref["name"], ref["name"]),
            name,
            "dynamic regret" if study["task"] == "nsmab" else "pseudo-regret",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
