"""The classical-baselines study behind `python -m experiments.baselines`: validate, run, summarize."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import _checks, envs, metrics, plotting, regret
from rmft_jax.baselines import bandits, fol_bayes, fol_registry, full_info
from rmft_jax.tasks.bandit import evaluation as bandit_eval
from rmft_jax.tasks.fol import env as fol_env
from rmft_jax.training import workdir_files

SETTINGS = ("fol", "mab", "nsmab")
MAB_INSTANCES = ("hard", "easy", "random")
NSMAB_KINDS = ("abrupt", "smooth")


def validate_config(cfg: Any) -> None:
    """Check every field the study reads, before anything compiles; ValueError says what to fix."""
    if not cfg.settings:
        raise ValueError(f"settings must name at least one of {SETTINGS}.")
    for name in cfg.settings:
        _checks.check_choice("setting", name, SETTINGS)
    f = cfg.fol
    _checks.check_horizon(f.horizon, "fol.horizon")
    for name in f.scenarios:
        _checks.check_choice("FOL scenario", name, envs.FOL_SCENARIOS)
    if len(f.weights) != len(f.scenarios):
        raise ValueError(f"fol.weights needs one weight per scenario ({len(f.scenarios)}), got {list(f.weights)}.")
    if not f.eta_grid:
        raise ValueError("fol.eta_grid must hold at least one learning rate.")
    _checks.check_positive("fol.eta_grid", list(f.eta_grid))
    _checks.check_choice("mab.instance", cfg.mab.instance, MAB_INSTANCES)
    _checks.check_choice("nsmab.kind", cfg.nsmab.kind, NSMAB_KINDS)
    for section in (cfg.mab, cfg.nsmab):
        _checks.check_horizon(section.horizon)
        for name in section.algorithms:
            _checks.check_choice("bandit algorithm", name, bandits.ALGORITHMS)
    for name, value in (
        ("fol.num_sequences", f.num_sequences),
        ("mab.num_runs", cfg.mab.num_runs),
        ("nsmab.num_runs", cfg.nsmab.num_runs),
    ):
        _checks.check_int(name, value, 2, "a confidence band needs two runs")


def summarize(curves_NxT: jax.Array) -> dict[str, float]:
    """Mean regret at T with a 95% half-width, and the growth statistics of the mean curve."""
    curves_NxT = jnp.asarray(curves_NxT, jnp.float32)
    final_N = np.asarray(curves_NxT[:, -1], np.float64)
    fit = regret.growth(jnp.mean(curves_NxT, axis=0))
    return {
        "regret": float(final_N.mean()),
        "regret_ci95": float(1.96 * final_N.std(ddof=1) / np.sqrt(final_N.size)),
        **{k: float(fit[k]) for k in ("beta_hat", "stderr", "p_reg", "p_trend")},
    }


def fol_scenario(cfg: Any) -> Any:
    """The configured FOL mixture (a single scenario when only one is named)."""
    f = cfg.fol
    return fol_env.mixture(f.scenarios, f.weights, f.horizon, f.num_actions)


def run_fol(cfg: Any, key: jax.Array) -> tuple[dict, dict]:
    """Every FOL reference of the registry and the Bayes policy of the configured distribution, on one draw set."""
    f = cfg.fol
    env = fol_scenario(cfg)
    rewards_NxTxA = envs.sample_batch(env, key, int(f.num_sequences))
    grid = [float(eta) for eta in f.eta_grid]
    # Grid tuning is in-sample (on these same sequences): an optimistic, oracle baseline.
    eta_hedge, hedge_grid = full_info.tune_hedge_eta(rewards_NxTxA, grid)
    eta_l2, l2_grid = fol_registry.tune("l2_ftrl_tuned", rewards_NxTxA, grid)
    eta_theory = full_info.hedge_theory_eta(f.horizon, f.num_actions)
    curves = {
        "ftl": regret.static_regret(rewards_NxTxA, full_info.ftl(rewards_NxTxA)),
        "hedge_theory": full_info.hedge_regret(rewards_NxTxA, eta_theory),
        "hedge_anytime": regret.static_regret(rewards_NxTxA, full_info.hedge(rewards_NxTxA, schedule="anytime")),
        "hedge_tuned": full_info.hedge_regret(rewards_NxTxA, eta_hedge),
        "l2_ftrl_tuned": regret.static_regret(rewards_NxTxA, full_info.ftrl(rewards_NxTxA, eta_l2, "l2")),
    }
    extra = {}
    for name in ("adahedge", "flipflop", "optimistic_hedge_tuned"):
        curves[name], extra[name] = fol_registry.regret_curves(name, rewards_NxTxA, grid)
    curves["bayes"] = regret.static_regret(rewards_NxTxA, fol_bayes.bayes_policies(env, rewards_NxTxA))
    methods = {name: summarize(c) for name, c in curves.items()}
    methods["hedge_theory"]["eta"], methods["hedge_tuned"]["eta"] = eta_theory, eta_hedge
    methods["l2_ftrl_tuned"]["eta"] = eta_l2
    methods["optimistic_hedge_tuned"]["eta"] = extra["optimistic_hedge_tuned"]["eta"]
    best_name, best = fol_registry.best_of({n: m["regret"] for n, m in methods.items()})
    result = {
        "horizon": f.horizon,
        "num_actions": f.num_actions,
        "num_sequences": f.num_sequences,
        "scenarios": dict(zip(f.scenarios, map(float, f.weights), strict=True)),
        "methods": methods,
        "eta_grid": grid,
        "hedge_grid_regret": hedge_grid,
        "l2_grid_regret": l2_grid,
        "optimistic_grid_regret": extra["optimistic_hedge_tuned"]["grid_regret"],
        "kinds": {n: fol_kind(n) for n in methods},
        "best_prior_free": {"name": best_name, "regret": best},
        "limit": {"name": "bayes", "regret": methods["bayes"]["regret"]},
    }
    return result, curves


def fol_kind(name: str) -> str:
    """prior_free, tuned_in_sample (eta picked on the scored draws) or bayes (knows the distribution)."""
    if name == "bayes":
        return "bayes"
    return "tuned_in_sample" if fol_registry.FOL_ALGORITHMS[name].tuned else "prior_free"


def run_bandits_on(
    scenarios: Any, algorithms: list[str], key: jax.Array, hparams: dict | None = None
) -> dict[str, tuple]:
    """Each algorithm once per scenario, on the scenario's pre-drawn rewards -> {name: (actions_NxT, rewards_NxT)}."""
    means_NxTxA, table_NxTxA = scenarios.means_TxA, scenarios.rewards_TxA
    num, horizon, num_actions = means_NxTxA.shape
    out = {}
    for i, name in enumerate(algorithms):
        items = bandits.resolve_hparams(name, horizon, num_actions, **(hparams or {}).get(name, {}))
        rollout = bandits.make_bandit_fn(name, 1, items)  # one run per scenario, vmapped over scenarios
        keys = jax.random.split(jax.random.fold_in(key, i), num)
        actions_Nx1xT, rewards_Nx1xT = jax.jit(jax.vmap(rollout))(keys, means_NxTxA, table_NxTxA)
        out[name] = (actions_Nx1xT[:, 0], rewards_Nx1xT[:, 0])
    return out


def run_mab(cfg: Any, key: jax.Array) -> tuple[dict, dict]:
    """Bandit baselines on the configured stationary instance: pseudo-regret and exploration stats."""
    m = cfg.mab
    if m.instance == "random":
        params = envs.make_bandit("random", horizon=m.horizon)
    else:
        params = (envs.hard_instance if m.instance == "hard" else envs.easy_instance)(horizon=m.horizon)
    key_env, key_alg = jax.random.split(key)
    scenarios = envs.sample_batch(params, key_env, int(m.num_runs))
    best_N = jnp.argmax(scenarios.means_TxA[:, 0], axis=-1)
    curves, methods = {}, {}
    # The gap-posterior policies know the MAB training prior (their defaults); on random instances it is not theirs.
    names = [n for n in m.algorithms if not (m.instance == "random" and bandit_eval.reference_kind(n) == "informed")]
    for name, (actions_NxT, rewards_NxT) in run_bandits_on(scenarios, names, key_alg).items():
        curves[name] = regret.pseudo_regret(scenarios.means_TxA, actions_NxT)
        stats = metrics.exploration_stats(actions_NxT, rewards_NxT, best_N, params.num_actions)
        methods[name] = {**summarize(curves[name]), **{k: float(v) for k, v in stats.items()}}
    result = {
        "instance": m.instance,
        "horizon": m.horizon,
        "num_actions": params.num_actions,
        "num_runs": m.num_runs,
        "methods": methods,
        **bandit_grading(methods),
    }
    return result, curves


def bandit_grading(methods: dict) -> dict:
    """kinds, the best prior-free algorithm and the best informed policy (limit) among the measured methods."""
    kinds = {n: bandit_eval.reference_kind(n) for n in methods}
    best = {}
    for kind, key in (("prior_free", "best_prior_free"), ("informed", "limit")):
        names = [n for n in methods if kinds[n] == kind]
        if names:
            name = min(names, key=lambda n: methods[n]["regret"])
            best[key] = {"name": name, "regret": methods[name]["regret"]}
    return {"kinds": kinds, **best}


def run_nsmab(cfg: Any, key: jax.Array) -> tuple[dict, dict]:
    """Bandit baselines on drifting means: dynamic regret and the realized variation V_T."""
    n = cfg.nsmab
    params = envs.make_nsmab(n.kind, num_actions=n.num_actions, horizon=n.horizon, variation_budget=n.variation_budget)
    key_env, key_alg = jax.random.split(key)
    scenarios = envs.sample_batch(params, key_env, int(n.num_runs))
    # The particle-filter policies know the abrupt process (its settings here); a smooth drift is not theirs.
    names = [a for a in n.algorithms if not (n.kind != "abrupt" and bandit_eval.reference_kind(a) == "informed")]
    prior = (
        {
            "num_changes": int(params.num_changes),
            "variation_budget": float(n.variation_budget),
            "horizon": int(n.horizon),
        }
        if n.kind == "abrupt"
        else {}
    )
    hparams = {a: prior for a in names if bandit_eval.reference_kind(a) == "informed"}
    curves = {
        name: regret.dynamic_regret(scenarios.means_TxA, actions_NxT)
        for name, (actions_NxT, _) in run_bandits_on(scenarios, names, key_alg, hparams).items()
    }
    methods = {name: summarize(c) for name, c in curves.items()}
    result = {
        "kind": n.kind,
        "horizon": n.horizon,
        "num_actions": n.num_actions,
        "num_runs": n.num_runs,
        "variation_budget": n.variation_budget,
        "realized_variation_mean": float(jnp.mean(scenarios.variation)),
        "methods": methods,
        **bandit_grading(methods),
    }
    return result, curves


RUNNERS: dict[str, Callable] = {"fol": run_fol, "mab": run_mab, "nsmab": run_nsmab}
PANEL_TITLES = {
    "fol": "full information (static regret)",
    "mab": "MAB (pseudo-regret)",
    "nsmab": "NS-MAB (dynamic regret)",
}


def run(cfg: Any, workdir: str, log: Callable[[str], None] = print) -> dict:
    """Run the configured settings, write results.json and regret_curves.png into workdir."""
    validate_config(cfg)
    os.makedirs(workdir, exist_ok=True)
    key = jax.random.key(int(cfg.seed))
    results: dict[str, Any] = {"config": cfg.to_dict()}
    panels = {}
    for index, name in enumerate(cfg.settings):
        start = time.perf_counter()
        # fold_in by the setting's fixed index: a setting's numbers do not depend on which others run.
        results[name], curves = RUNNERS[name](cfg, jax.random.fold_in(key, SETTINGS.index(name)))
        panels[PANEL_TITLES[name]] = {k: np.asarray(v) for k, v in curves.items()}
        best = min(results[name]["methods"].items(), key=lambda kv: kv[1]["regret"])
        log(
            f"[{index + 1}/{len(cfg.settings)}] {name}: {len(curves)} methods in "
            f"{time.perf_counter() - start:.1f}s; lowest regret {best[0]} = {best[1]['regret']:.2f}"
        )
    workdir_files.write_json_atomic(os.path.join(workdir, "results.json"), results)
    plotting.plot_regret_panels(panels, os.path.join(workdir, "regret_curves.png"))
    log(f"wrote {workdir}/results.json and {workdir}/regret_curves.png")
    return results
