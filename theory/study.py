"""The measurement behind `python -m theory.fixed_point`: is the RMFT fixed point FTRL?

1. held-out sets: `fit` (eta-hat is fitted on it), `test` (TV, regret and the operator are
   measured on it), `tune` (the regret-optimal eta of the scenario distribution is tuned on it);
2. the full RMFT run, trained by the driver (`rmft_jax.training.driver`: lock, checkpoints, resume, the FOL
   run's keys), snapshotted every `eval.every` iterations (its held-out evaluation): eta-hat, TV, structure
   residual, bias / non-linear parts, regret;
3. the iteration map eta -> eta' on `theory.map_etas` and its fixed point eta*;
4. fixed_point.json (also results.json, the driver's) and figures in the workdir.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import _checks, models, regret
from rmft_jax.baselines import full_info
from rmft_jax.core.run import Run
from rmft_jax.tasks.fol import grading as fol_grading
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import driver, fol_train, workdir_files
from theory import fit, iteration_map, operator, plots

# The acceptance bars (reported in fixed_point.json; nothing is tuned to them).
ACCEPTANCE = {
    "tv_distance": 0.05,
    "structure_residual": 0.15,
    "regret_vs_hedge_eta_hat": 0.05,
    "eta_star_vs_eta_hat": 0.25,
    "seconds": 300.0,
}


def validate(cfg: Any) -> None:
    """The RMFT config checks plus the theory section; ValueError says what to fix."""
    fol.validate_config(cfg)
    t = cfg.theory
    if cfg.model.name != "linear_attention":
        raise ValueError(
            f"the theory needs model.name='linear_attention' (the single-layer model), got {cfg.model.name!r}."
        )
    if t.init_eta < 0:
        raise ValueError(f"theory.init_eta must be >= 0 (0: the random initialization), got {t.init_eta}.")
    if not 0 < t.eta_min < t.eta_max:
        raise ValueError(
            f"theory.eta_min and theory.eta_max must satisfy 0 < eta_min < eta_max, got {t.eta_min}, {t.eta_max}."
        )
    for name in ("num_fit", "num_tune", "num_grid", "map_num_keys", "map_iterations"):
        _checks.check_int(f"theory.{name}", t[name], 3 if name == "num_grid" else 1)
    if len(t.map_etas) < 2 or any(e <= 0 for e in t.map_etas) or list(t.map_etas) != sorted(t.map_etas):
        raise ValueError(
            f"theory.map_etas must be at least two increasing positive learning rates, got {list(t.map_etas)}."
        )


def make_snapshot(graphdef: Any, cfg: Any) -> Callable:
    """Jitted snapshot(params, fit_NxTxA, test_NxTxA) -> the fixed-point measurements of one model."""
    t, temperature = cfg.theory, float(cfg.rmft.temperature)
    search = dict(
        eta_min=float(t.eta_min), eta_max=float(t.eta_max), num_grid=int(t.num_grid), num_golden=int(t.num_golden)
    )

    @jax.jit
    def snapshot(params, fit_R, test_R):
        def policy(R):
            return jax.nn.softmax(models.apply(graphdef, params, R) / temperature, axis=-1)

        pi_fit, pi_test = policy(fit_R), policy(test_R)
        cum_test = full_info.cumulative_before(test_R)
        out = {}
        for family in fit.FAMILIES:
            fitted = fit.fit_eta(fit_R, pi_fit, family, **search)
            eta = fitted["eta_hat"]
            out[family] = {
                "eta_hat": eta,
                "fit_tv": fitted["tv"],
                "at_edge": fitted["at_edge"],
                "tv_N": fit.tv_per_sequence(pi_test, fit.ftrl_policies(cum_test, eta, family)),
                "regret_N": fit.family_regret(test_R, eta, family),
            }
        op = operator.effective_operator(graphdef, params, test_R, temperature)
        eta_hat = out["entropy"]["eta_hat"]
        curve = jnp.mean(regret.static_regret(test_R, pi_test), axis=0)
        eta_proj = operator.projected_eta(op.W_AxA)
        return {
            **out,
            "regret_N": fit.final_regret(test_R, pi_test),
            "beta_hat": regret.growth(curve)["beta_hat"],
            "operator": op._asdict(),
            "structure_residual": operator.structure_residual(op.W_AxA, eta_hat),
            "projected_eta": eta_proj,
            "projected_residual": operator.structure_residual(op.W_AxA, eta_proj),
            **operator.part_fractions(operator.logit_parts(graphdef, params, test_R, op, temperature)),
        }

    return snapshot


def summarize(snap: dict, tuned_regret: float) -> dict[str, float]:
    """Scalars of one snapshot (means over the test set)."""
    s = jax.device_get(snap)
    model, hedge = float(np.mean(s["regret_N"])), float(np.mean(s["entropy"]["regret_N"]))
    l2 = float(np.mean(s["l2"]["regret_N"]))
    return {
        "eta_hat": float(s["entropy"]["eta_hat"]),
        "tv_distance": float(np.mean(s["entropy"]["tv_N"])),
        "structure_residual": float(s["structure_residual"]),
        "model_regret": model,
        "hedge_eta_hat_regret": hedge,
        "regret_ratio_vs_hedge_eta_hat": model / hedge,
        "regret_ratio_vs_tuned_hedge": model / tuned_regret,
        "beta_hat": float(s["beta_hat"]),
        "eta_hat_l2": float(s["l2"]["eta_hat"]),
        "tv_distance_l2": float(np.mean(s["l2"]["tv_N"])),
        "l2_eta_hat_regret": l2,
        "projected_eta": float(s["projected_eta"]),
        "projected_residual": float(s["projected_residual"]),
        "mean_attention_weight": float(s["operator"]["mean_weight"]),
        "attention_weight_cv": float(s["operator"]["weight_cv"]),
        **{k: float(s[k]) for k in ("linear_fraction", "bias_fraction", "nonlinear_fraction")},
        "eta_hat_at_search_edge": bool(s["entropy"]["at_edge"]),
    }


def baselines(cfg: Any, tune_R: jax.Array, test_R: jax.Array) -> dict[str, Any]:
    """Regret-optimal Hedge / Euclidean FTRL (tuned on `tune_R`), theory-eta Hedge and FTL, on `test_R`."""
    t = cfg.theory
    out = {}
    for family in fit.FAMILIES:
        tuned = jax.device_get(
            fit.regret_optimal_eta(tune_R, family, float(t.eta_min), float(t.eta_max), int(t.num_grid))
        )
        out[f"tuned_{family}"] = {
            "eta": float(tuned["eta"]),
            "eta_at_search_edge": bool(tuned["at_edge"]),
            "regret": float(jnp.mean(fit.family_regret(test_R, tuned["eta"], family))),
        }
    eta_theory = full_info.hedge_theory_eta(cfg.env.horizon, cfg.env.num_actions)
    out["theory_hedge"] = {
        "eta": eta_theory,
        "regret": float(jnp.mean(full_info.hedge_regret(test_R, eta_theory)[:, -1])),
    }
    out["ftl"] = {"regret": float(jnp.mean(regret.static_regret(test_R, full_info.ftl(test_R))[:, -1]))}
    return out


def per_scenario(snap: dict, labels_N: np.ndarray, names: tuple) -> dict[str, dict[str, float]]:
    """TV to Hedge(eta-hat) and regrets per scenario kind of the test set (mixtures)."""
    s = jax.device_get(snap)
    columns = {
        "tv_distance": s["entropy"]["tv_N"],
        "model_regret": s["regret_N"],
        "hedge_eta_hat_regret": s["entropy"]["regret_N"],
    }
    return {
        name: {k: float(np.mean(np.asarray(v)[labels_N == i])) for k, v in columns.items()}
        for i, name in enumerate(names)
        if np.any(labels_N == i)
    }


def training_key(cfg: Any) -> jax.Array:
    """The key of the RMFT iterations, derived as `fol_train.run` does (so the runs coincide)."""
    return jax.random.split(jax.random.key(int(cfg.seed)), 2)[1]


def heldout_sets(cfg: Any, env: Any) -> dict[str, Any]:
    """The fit, test and tune reward tables, the test set's scenario labels and the iteration map's key.

    All come from the evaluation half of the seed's key (`fol_train.run` splits key(seed) into
    evaluation and training keys), so none shares a key with the training iterations. One draw of
    num_fit + num_test + num_tune sequences is cut into the three sets.
    """
    key_eval = jax.random.split(jax.random.key(int(cfg.seed)), 2)[0]
    key_sets, key_map = jax.random.split(key_eval, 2)
    sizes = np.cumsum([int(cfg.theory.num_fit), int(cfg.eval.num_scenarios), int(cfg.theory.num_tune)])
    rewards_NxTxA, labels_N = fol_grading.sample_heldout(env, key_sets, int(sizes[-1]))
    fit_R, test_R, tune_R = jnp.split(rewards_NxTxA, sizes[:2])
    return {
        "fit": fit_R,
        "test": test_R,
        "test_labels": labels_N[sizes[0] : sizes[1]],
        "tune": tune_R,
        "key_map": key_map,
    }


def model_kwargs(cfg: Any) -> dict[str, Any]:
    """The model's constructor arguments from cfg.model (all but its name)."""
    return {k: v for k, v in cfg.model.to_dict().items() if k != "name"}


_PARTS: dict[str, tuple] = {}


def parts(cfg: Any) -> tuple[Any, Any, Any, Callable]:
    """(env, graphdef, optimizer, jitted iteration) of a config, built once per training setting."""
    name = json.dumps({k: cfg[k].to_dict() for k in ("env", "model", "rmft", "sft")}, sort_keys=True)
    if name not in _PARTS:
        env, optimizer = fol.build_env(cfg), fol.build_optimizer(cfg)
        graphdef = fol.build_model(cfg, seed=0)[0]  # the structure only: the same for every seed
        _PARTS[name] = (
            env,
            graphdef,
            optimizer,
            fol.make_iteration(env, graphdef, optimizer, fol.FOLSettings.from_config(cfg)),
        )
    return _PARTS[name]


def initial_params(cfg: Any) -> Any:
    """The configured start: the model's random initialization, or Hedge(theory.init_eta) when it is > 0."""
    if cfg.theory.init_eta > 0:  # start inside the FTRL family instead of at the random initialization
        return models.hedge_params(float(cfg.theory.init_eta), cfg.env.num_actions, **model_kwargs(cfg))[1]
    return fol.build_model(cfg, seed=int(cfg.seed))[1]


# A trace record: the iteration, the rollouts' regret and SFT loss, then the snapshot's scalars (`summarize`).
TRACE_METRICS = ("iteration", "rollout_regret", "sft_loss")


class TheoryExperiment:
    """The theory study for `driver.run`: the full RMFT run, snapshotted as its evaluation, then measured."""

    added_defaults = fol.ADDED_FIELD_DEFAULTS

    def __init__(self, log: Callable[[str], None] = print):
        self.log = log

    def validate(self, cfg: Any) -> None:
        """`validate`."""
        validate(cfg)

    def build(self, cfg: Any) -> Run:
        """Held-out sets and baselines, the snapshot as the evaluation, the measurements as the report."""
        t0 = time.perf_counter()
        env, graphdef, optimizer, iteration = parts(cfg)
        sets = heldout_sets(cfg, env)
        fit_R, test_R = sets["fit"], sets["test"]
        base = baselines(cfg, sets["tune"], test_R)
        snapshot = make_snapshot(graphdef, cfg)

        def record(p):
            # eval_regret is the driver's name for the held-out regret (its progress line and NaN check).
            snap = summarize(snapshot(p, fit_R, test_R), base["tuned_entropy"]["regret"])
            return {**snap, "eval_regret": snap["model_regret"]}

        def report(init_params, final_params, history):
            t_run = time.perf_counter()
            snapshots = [{"iteration": 0, **record(init_params)}] + [r for r in history if "eta_hat" in r]
            keys = (*TRACE_METRICS, *(k for k in snapshots[0] if k not in ("iteration", "eval_regret")))
            traces = [{k: r[k] for k in keys if k in r} for r in snapshots]
            imap = measure_map(cfg, fit_R, sets["key_map"])
            t_map = time.perf_counter()
            results = assemble(cfg, snapshot(final_params, fit_R, test_R), traces, imap, base, sets["test_labels"])
            results["seconds"] = {
                "full_run": t_run - t0,
                "iteration_map": t_map - t_run,
                "total": time.perf_counter() - t0,
            }
            results["acceptance"] = acceptance(results)
            self.log(summary_line(results, base))

            def write(workdir: str) -> None:
                plots.write_figures(results, workdir)
                workdir_files.write_json_atomic(os.path.join(workdir, "fixed_point.json"), results)

            return results, write

        params = initial_params(cfg)
        return Run(iteration, params, optimizer.init(params), training_key(cfg), record, report)


def train(cfg: Any) -> tuple[Any, Any]:
    """(graphdef, params) after the configured RMFT run, without measurements (same keys as `run`)."""
    validate(cfg)
    _, graphdef, optimizer, iteration = parts(cfg)
    params = initial_params(cfg)
    opt_state, key_train = optimizer.init(params), training_key(cfg)
    for it in range(int(cfg.rmft.num_iterations)):
        params, opt_state, metrics = iteration(params, opt_state, jax.random.fold_in(key_train, it))
        if not bool(metrics["finite"]):
            raise fol_train.TrainingDiverged(f"NaN or inf in iteration {it + 1}; lower sft.learning_rate.")
    return graphdef, params


def measure_map(cfg: Any, fit_R: jax.Array, key_map: jax.Array) -> dict[str, Any]:
    """The iteration map on theory.map_etas: eta' after RMFT from Hedge(eta), and its fixed point."""
    t = cfg.theory
    _, graphdef, optimizer, iteration = parts(cfg)
    temperature = float(cfg.rmft.temperature)

    @jax.jit
    def read_eta(params, R):
        pi = jax.nn.softmax(models.apply(graphdef, params, R) / temperature, axis=-1)
        fitted = fit.fit_eta(R, pi, "entropy", float(t.eta_min), float(t.eta_max), int(t.num_grid), int(t.num_golden))
        return fitted["eta_hat"], fitted["tv"]

    eta_next, tv_next = iteration_map.map_etas(
        iteration,
        optimizer.init,
        lambda p: read_eta(p, fit_R),
        list(t.map_etas),
        cfg.env.num_actions,
        key_map,
        int(t.map_num_keys),
        int(t.map_iterations),
        model_kwargs(cfg),
    )
    return iteration_map.summarize_map(list(t.map_etas), eta_next, tv_next)


def assemble(cfg: Any, final_snap: dict, traces: list, imap: dict, base: dict, labels_N: np.ndarray) -> dict[str, Any]:
    """fixed_point.json's content (headline numbers first)."""
    final, star = summarize(final_snap, base["tuned_entropy"]["regret"]), imap["fixed_point"]
    op = jax.device_get(final_snap["operator"])
    return {
        **{
            k: final[k]
            for k in (
                "eta_hat",
                "tv_distance",
                "structure_residual",
                "regret_ratio_vs_hedge_eta_hat",
                "regret_ratio_vs_tuned_hedge",
            )
        },
        "eta_star": star["eta_star"],
        "eta_star_stable": star["stable"],
        "eta_star_slope": star["slope"],
        "eta_star_vs_eta_hat": star["eta_star"] / final["eta_hat"] - 1.0,
        # Has the run converged? eta-hat's relative change over the last quarter of the traced iterations.
        "eta_hat_change_last_quarter": final["eta_hat"] / traces[(3 * len(traces)) // 4]["eta_hat"] - 1.0,
        "eta_regret_optimal": base["tuned_entropy"]["eta"],
        "eta_theory": base["theory_hedge"]["eta"],
        "final": final,
        "baselines": base,
        "operator": {
            "centered_W_eff": np.asarray(operator.center_operator(op["W_AxA"])).tolist(),
            "W_eff": np.asarray(op["W_AxA"]).tolist(),
            "drift": np.asarray(op["drift_A"]).tolist(),
            "bias": np.asarray(op["bias_A"]).tolist(),
            "mean_attention_weight": float(op["mean_weight"]),
        },
        "per_scenario": per_scenario(final_snap, labels_N, tuple(cfg.env.scenarios)),
        "traces": {k: [r.get(k) for r in traces] for k in traces[-1]},
        "iteration_map": imap,
        "setting": {
            "horizon": cfg.env.horizon,
            "num_actions": cfg.env.num_actions,
            "scenarios": list(cfg.env.scenarios),
            "seed": int(cfg.seed),
            "init_eta": float(cfg.theory.init_eta),
            "num_test": int(cfg.eval.num_scenarios),
            "num_fit": int(cfg.theory.num_fit),
            "num_tune": int(cfg.theory.num_tune),
        },
        "config": cfg.to_dict(),
    }


def summary_line(results: dict, base: dict) -> str:
    """The study's result in one line."""
    star, f = results["iteration_map"]["fixed_point"], results["final"]
    return (
        f"eta-hat {f['eta_hat']:.3f}, TV {f['tv_distance']:.4f}, residual {f['structure_residual']:.3f}, "
        f"regret {f['model_regret']:.3f} vs Hedge(eta-hat) {f['hedge_eta_hat_regret']:.3f} vs regret-optimal Hedge "
        f"{base['tuned_entropy']['regret']:.3f} (eta {base['tuned_entropy']['eta']:.3g}); "
        f"eta* {star['eta_star']:.3f} ({'stable' if star['stable'] else 'unstable'}, slope {star['slope']:.2f}); "
        f"{results['seconds']['total']:.0f} s"
    )


def run(cfg: Any, workdir: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train (resumably), measure, write fixed_point.json and the figures into `workdir`; the results."""
    return driver.run(cfg, workdir, TheoryExperiment(log), log)


def acceptance(results: dict) -> dict[str, bool]:
    """The issue's acceptance bars, evaluated on a results dict (NaN fails)."""
    a = ACCEPTANCE
    return {
        "tv_distance <= 0.05": results["tv_distance"] <= a["tv_distance"],
        "structure_residual <= 0.15": results["structure_residual"] <= a["structure_residual"],
        "|regret / Hedge(eta_hat) regret - 1| <= 0.05": abs(results["regret_ratio_vs_hedge_eta_hat"] - 1.0)
        <= a["regret_vs_hedge_eta_hat"],
        "|eta_star / eta_hat - 1| <= 0.25": bool(abs(results["eta_star_vs_eta_hat"]) <= a["eta_star_vs_eta_hat"]),
        "wall time <= 300 s": results["seconds"]["total"] <= a["seconds"],
    }
