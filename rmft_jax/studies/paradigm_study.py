"""Training paradigms side by side on FOL: Iterative RMFT, algorithm distillation, regret-loss, RL fine-tuning.

Every paradigm is an update rule of the one loop (`rmft_jax/core/paradigms.py`), trained on the same model,
scenario distribution, seeds, keys, number of iterations and gradient steps per iteration, and, where it
samples, the same L rollouts per scenario. For each setting (a training distribution) and paradigm (an arm)
over S seeds (one compiled call, `fol_sweep`):

  on-distribution regret at T (and over tuned Hedge), transfer to 2T, 4T and held-out reward processes
  (`fol_study.generalization`), and the worst found regret at T (`attacks.worst_case_regret`, a lower
  bound), each as mean and 95% interval over seeds; for distillation from Hedge(eta), Hedge(eta)'s own
  regret on the same held-out sets (the sanity check: a correct distillation gets within a few percent).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import attacks, models
from rmft_jax.attacks import training_check
from rmft_jax.baselines import full_info
from rmft_jax.intervals import below, compare, mean_ci95
from rmft_jax.studies import fol_study, fol_sweep
from rmft_jax.studies.arms import arm_tag
from rmft_jax.tasks.fol import paradigms as fol_paradigms
from rmft_jax.tasks.fol import task as fol

# setting -> (description, config overrides of the base FOL config)
SETTINGS: dict[str, tuple[str, dict]] = {
    "mix": ("stochastic + FTL-adversarial, half each (the FOL default)", {}),
    "stochastic": ("stochastic only (the theory's setting)", {"env.scenarios": ("stochastic",), "env.weights": (1.0,)}),
    "trends": (
        "non-stationary: linear and sine trends, half each",
        {"env.scenarios": ("linear_trend", "sine_trend"), "env.weights": (0.5, 0.5)},
    ),
}
# arm -> (description, config overrides)
ARMS: dict[str, tuple[str, dict]] = {
    "rmft": ("Iterative RMFT (keep the k lowest-regret of L, SFT)", {"paradigm.name": "rmft"}),
    "distill_hedge": (
        "algorithm distillation: SFT on all L of Hedge's rollouts (eta tuned on the training mix)",
        {"paradigm.name": "distill"},
    ),
    "distill_ftl": (
        "algorithm distillation: SFT on all L of FTL's rollouts",
        {"paradigm.name": "distill", "paradigm.teacher": "ftl"},
    ),
    "regret_loss": ("regret-loss: Adam on the exact expected regret", {"paradigm.name": "regret_loss"}),
    "pg_reward": ("RL fine-tuning: clipped policy gradient, return = reward", {"paradigm.name": "policy_gradient"}),
    "pg_regret": (
        "RL fine-tuning: clipped policy gradient, return = minus regret",
        {"paradigm.name": "policy_gradient", "paradigm.pg_return": "regret"},
    ),
}


def validate(settings: tuple, arms: tuple, seeds: list[int]) -> None:
    """Unknown setting or arm names and bad seeds fail before anything trains."""
    for kind, names, known in (("setting", settings, SETTINGS), ("arm", arms, ARMS)):
        unknown = sorted(set(names) - set(known))
        if unknown or not names:
            raise ValueError(f"{kind}s must be a non-empty subset of {list(known)}, got {list(names)}.")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}.")


def worst_case(cfg: Any, params_S: Any, seeds: list[int], budget: attacks.AttackBudget) -> dict:
    """Worst found regret at the training horizon of each seed's model (mean_ci95 over seeds; lower bounds)."""
    graphdef, _ = fol.build_model(cfg, seed=0)
    horizon, num_actions = int(cfg.env.horizon), int(cfg.env.num_actions)
    found = []
    for i in range(len(seeds)):
        policy = training_check.model_policy(
            graphdef,
            jax.tree.map(lambda x: x[i], params_S),  # noqa: B023 - called inside this iteration
            float(cfg.rmft.temperature),
        )
        found.append(
            attacks.worst_case_regret(policy, horizon, num_actions, jax.random.key(int(cfg.attack.seed)), budget)[
                "worst"
            ]
        )
    return mean_ci95(found)


def hedge_reference(cfg: Any, eta_tuned: list[float], budget: attacks.AttackBudget) -> dict:
    """Hedge at each seed's tuned eta: its worst found regret at T (per setting, for scale); each distinct eta once."""
    horizon, num_actions = int(cfg.env.horizon), int(cfg.env.num_actions)
    worst_by_eta = {
        eta: attacks.worst_case_regret(
            lambda r, e=eta: full_info.ftrl(r, e), horizon, num_actions, jax.random.key(int(cfg.attack.seed)), budget
        )["worst"]
        for eta in set(eta_tuned)
    }
    return {"worst_found": mean_ci95([worst_by_eta[eta] for eta in eta_tuned]), "eta": mean_ci95(eta_tuned)}


def run_arm(
    cfg: Any,
    seeds: list[int],
    study: Any,
    budget: attacks.AttackBudget,
    heldout: list[jax.Array],
    log: Callable[[str], None],
    workdir: str | None = None,
) -> tuple[dict, Any]:
    """One paradigm in one setting over the seeds: (JSON-safe results, the trained params (S, ...))."""
    out = fol_sweep.run_seeds(cfg, seeds, log, workdir=workdir)
    params_S = out.pop("params")
    horizon = int(cfg.env.horizon)
    action_counts = tuple(int(a) for a in study.get("num_actions", ()))
    out["transfer"] = fol_study.generalization(
        cfg,
        params_S,
        seeds,
        tuple(f * horizon for f in study.horizon_factors),
        tuple(study.processes),
        int(study.transfer_scenarios),
        (cfg, params_S) if action_counts else None,
        action_counts,
    )
    out["worst_found"] = worst_case(cfg, params_S, seeds, budget)
    paradigm = fol_paradigms.paradigm_settings(cfg)
    out["paradigm"] = {
        "name": paradigm.name,
        "teacher": paradigm.teacher,
        "teacher_eta": paradigm.teacher_eta,
        "pg_return": paradigm.pg_return,
        "clip": paradigm.clip,
    }
    if paradigm.name == "distill" and paradigm.teacher == "hedge":
        teacher = [float(jnp.mean(full_info.hedge_regret(h, paradigm.teacher_eta)[:, -1])) for h in heldout]
        out["teacher_regret"] = mean_ci95(teacher)
        out["ratio_to_teacher"] = mean_ci95(
            [r["final"]["eval_regret"] / t for r, t in zip(out["per_seed"], teacher, strict=True)]
        )
        out["kl_to_teacher"] = mean_ci95(kl_to_teacher(cfg, params_S, heldout, paradigm.teacher_eta))
    return out, params_S


def kl_to_teacher(cfg: Any, params_S: Any, heldout: list[jax.Array], eta: float) -> list[float]:
    """Per seed: KL(Hedge(eta) || model) per round on its held-out tables, the distillation objective's excess.

    SFT on the teacher's actions minimizes the cross-entropy to its policy, KL + the teacher's entropy; with
    Hedge(eta) inside the model class the minimum is KL = 0, so KL > 0 at the end means the optimizer stopped
    short (a local minimum or too few steps), not that the objective is wrong.
    """
    graphdef, _ = fol.build_model(cfg, seed=0)
    out = []
    for i, rewards_NxTxA in enumerate(heldout):
        params = jax.tree.map(lambda x: x[i], params_S)  # noqa: B023 - called inside this iteration
        log_model = jax.nn.log_softmax(models.apply(graphdef, params, rewards_NxTxA) / float(cfg.rmft.temperature), -1)
        teacher_NxTxA = full_info.ftrl(rewards_NxTxA, eta)
        log_teacher = jnp.log(jnp.clip(teacher_NxTxA, 1e-30))
        out.append(float(jnp.mean(jnp.sum(teacher_NxTxA * (log_teacher - log_model), axis=-1))))
    return out


# The sanity check from a known start: training begins at Hedge(KNOWN_START_ETA) (inside the single-layer
# model class, off both targets), so a paradigm implemented right must move to its target from there.
KNOWN_START_ETA = 1.0
KNOWN_START_CHECKS = (("mix", "distill_hedge"), ("stochastic", "regret_loss"))


def known_start(cfg: Any, seeds: list[int], log: Callable[[str], None], workdir: str | None = None) -> dict | None:
    """Train `cfg` from Hedge(KNOWN_START_ETA) for every seed: ratio to tuned Hedge (and to the teacher); None
    when the model has no Hedge parameters (only `linear_attention` has)."""
    if cfg.model.name != "linear_attention":
        return None
    kwargs = {k: v for k, v in cfg.model.to_dict().items() if k not in ("name",)}
    _, hedge = models.hedge_params(KNOWN_START_ETA, int(cfg.env.num_actions), **kwargs)
    out = fol_sweep.run_seeds(cfg, seeds, log, init_params=fol_sweep.stack_trees([hedge] * len(seeds)), workdir=workdir)
    out.pop("params")
    summary = {
        "start_eta": KNOWN_START_ETA,
        "regret": out["final"]["eval_regret"],
        "initial_regret": out["initial"]["eval_regret"],
        "ratio_to_tuned_hedge": out["ratio_to_tuned_hedge"],
    }
    paradigm = fol_paradigms.paradigm_settings(cfg)
    if paradigm.name == "distill" and paradigm.teacher == "hedge":
        heldout = fol_sweep.heldout_sets(cfg, seeds)
        teacher = [float(jnp.mean(full_info.hedge_regret(h, paradigm.teacher_eta)[:, -1])) for h in heldout]
        summary["ratio_to_teacher"] = mean_ci95(
            [r["final"]["eval_regret"] / t for r, t in zip(out["per_seed"], teacher, strict=True)]
        )
    return summary


def run(
    base: Any, study: Any, seeds: list[int], log: Callable[[str], None] = print, workdir: str | None = None
) -> tuple[dict, dict]:
    """Every (setting, arm) of the study -> (results[setting][arm] | {'hedge': ...}, params[(setting, arm)]).

    With `workdir`, each arm's training is checkpointed in WORKDIR/fol/SETTING_ARM_TAG (`fol_sweep.run_seeds`)."""

    def arm_dir(cfg: Any, name: str) -> str | None:
        return None if workdir is None else os.path.join(workdir, "fol", f"{name}_{arm_tag(cfg)}")

    validate(tuple(study.settings), tuple(study.arms), seeds)
    budget = attacks.AttackBudget.from_config(study.attack)
    results, params = {}, {}
    for setting in study.settings:
        description, overrides = SETTINGS[setting]
        setting_cfg = fol_study.arm_config(base, overrides)
        heldout = fol_sweep.heldout_sets(setting_cfg, seeds)
        log(f"setting {setting}: {description}")
        results[setting] = {"description": description}
        for arm in study.arms:
            start = time.perf_counter()
            log(f"  arm {arm}: {ARMS[arm][0]}")
            cfg = fol_study.arm_config(setting_cfg, ARMS[arm][1])
            results[setting][arm], params[(setting, arm)] = run_arm(
                cfg, seeds, study, budget, heldout, log, arm_dir(cfg, f"{setting}_{arm}")
            )
            results[setting][arm]["seconds_total"] = time.perf_counter() - start
        for check_setting, arm in KNOWN_START_CHECKS:
            if setting == check_setting and arm in study.arms:
                log(f"  sanity: {arm} from Hedge({KNOWN_START_ETA})")
                cfg = fol_study.arm_config(setting_cfg, ARMS[arm][1])
                results[setting][arm]["known_start"] = known_start(
                    cfg, seeds, log, arm_dir(cfg, f"{setting}_{arm}_known_start")
                )
        etas = [r["ftrl"]["eta"] for r in results[setting][study.arms[0]]["per_seed"]]
        results[setting]["hedge"] = hedge_reference(setting_cfg, etas, budget)
    return results, params


def summary_rows(results: dict) -> list[dict]:
    """One flat row per (setting, arm) for tables and figures: means and 95% half-widths."""
    rows = []
    for setting, arms in results.items():
        for arm, r in arms.items():
            if arm in ("description", "hedge"):
                continue
            row = {
                "setting": setting,
                "arm": arm,
                "regret": r["final"]["eval_regret"],
                "ratio_to_tuned_hedge": r["ratio_to_tuned_hedge"],
                "worst_found": r["worst_found"],
                "hedge_worst_found": arms["hedge"]["worst_found"],
            }
            row.update({f"transfer:{label}": v["ratio_to_tuned_hedge"] for label, v in r["transfer"].items()})
            rows.append(row)
    return rows


def transfer_score(row: dict) -> float:
    """Mean over the transfer settings of the ratio to tuned Hedge (lower is better)."""
    values = [v["mean"] for k, v in row.items() if k.startswith("transfer:")]
    return float(np.mean(values)) if values else float("nan")


def _known_start_text(arm: dict, key: str, of: str) -> str:
    """'; from Hedge(1): pass|FAIL x.xxx ± y x <of>' when the arm has a known-start run, else ''."""
    start = arm.get("known_start")
    if not start:
        return ""
    r = start[key]
    return (
        f"; from Hedge({start['start_eta']:g}): {'pass' if r['mean'] <= 1.05 else 'FAIL'} {r['mean']:.3f} ± "
        f"{r['ci95']:.3f} x {of}"
    )


def verdicts(results: dict) -> dict[str, str]:
    """One line per sanity check and per claim of the paper, from the intervals over seeds."""
    out = {}
    for setting, arms in results.items():
        if "distill_hedge" in arms:
            r = arms["distill_hedge"]["ratio_to_teacher"]
            line = (
                f"{'pass' if r['mean'] <= 1.05 else 'FAIL'}: distilled Hedge {r['mean']:.3f} ± {r['ci95']:.3f} x the "
                f"teacher's regret (bar 1.05; {sum(v <= 1.05 for v in r['values'])} of {len(r['values'])} seeds pass)"
            )
            if "kl_to_teacher" in arms["distill_hedge"]:
                kl = arms["distill_hedge"]["kl_to_teacher"]["values"]
                line += f"; KL(teacher || model) per round by seed: {', '.join(f'{v:.3f}' for v in kl)}"
            out[f"sanity distill ({setting})"] = line + _known_start_text(
                arms["distill_hedge"], "ratio_to_teacher", "the teacher's regret"
            )
        if "pg_reward" in arms:
            f, i = arms["pg_reward"]["final"]["eval_regret"], arms["pg_reward"]["initial"]["eval_regret"]
            out[f"sanity policy gradient ({setting})"] = (
                f"{'pass' if below(f, i) else 'FAIL'}: {f['mean']:.2f} ± "
                f"{f['ci95']:.2f} after training, {i['mean']:.2f} before"
            )
    if "regret_loss" in results.get("stochastic", {}):
        r = results["stochastic"]["regret_loss"]["ratio_to_tuned_hedge"]
        out["sanity regret-loss (stochastic)"] = (
            f"{'pass' if r['mean'] <= 1.05 else 'FAIL'}: {r['mean']:.3f} ± {r['ci95']:.3f} x tuned Hedge (bar 1.05)"
            + _known_start_text(results["stochastic"]["regret_loss"], "ratio_to_tuned_hedge", "tuned Hedge")
        )
    for setting in ("mix", "trends"):
        arms = results.get(setting, {})
        if "pg_reward" in arms and "rmft" in arms:
            out[f"reward RL vs RMFT ({setting})"] = compare(
                arms["pg_reward"]["final"]["eval_regret"], arms["rmft"]["final"]["eval_regret"], "reward RL", "RMFT"
            )
    rows = summary_rows(results)
    for other in ("distill_hedge", "distill_ftl", "regret_loss", "pg_reward"):
        wins, losses, ties = 0, 0, 0
        for row in rows:
            if row["arm"] != "rmft":
                continue
            mate = next((x for x in rows if x["setting"] == row["setting"] and x["arm"] == other), None)
            for key in (k for k in row if k.startswith("transfer:")) if mate else ():
                verdict = compare(row[key], mate[key], "rmft", other)
                wins, losses, ties = (
                    wins + verdict.startswith("rmft"),
                    losses + verdict.startswith(other),
                    ties + verdict.startswith("no"),
                )
        if wins + losses + ties:
            out[f"transfer: RMFT vs {other}"] = (
                f"RMFT better in {wins}, {other} better in {losses}, no significant "
                f"difference in {ties} transfer tests (ratio to tuned Hedge)"
            )
    return out
