"""The FOL experiment driver: validate, resume, iterate with checkpoints, evaluate, write results.

Python only drives the outer loop here (logging, checkpoints, progress); every iteration is one
compiled call from `rmft_jax.tasks.fol`. Re-running with the same workdir resumes from the newest
checkpoint and ends with the numbers an uninterrupted run would give; a finished run is not redone.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from rmft_jax import envs, parallel, plotting, regret
from rmft_jax.studies import attack_study
from rmft_jax.tasks import adversarial, fol
from rmft_jax.training import checkpoint, train_loop, workdir_lock
from rmft_jax.baselines import full_info
from rmft_jax.training.train_loop import TrainingDiverged

# Fields that may change between a run and its resumption (more iterations, other eval cadence, another
# device count: sharding changes where the numbers are computed, not what is trained).
RESUMABLE_FIELDS = ("rmft.num_iterations", "eval.every", "parallel.data_axis_size")
# Fields added after runs were made: a saved config without them trained with these values.
ADDED_FIELD_DEFAULTS = {"rmft.independent_rewards": False,
                        **{f"adversary.{k}": (list(v) if isinstance(v, tuple) else v)
                           for k, v in adversarial.DEFAULTS.items()}}


def _flatten(d: dict, prefix: str = "") -> dict:
    """{'a': {'b': 1}} -> {'a.b': 1}."""
    out = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        out.update(_flatten(v, name + ".") if isinstance(v, dict) else {name: v})
    return out


def check_workdir_config(cfg: Any, workdir: str) -> None:
    """Write config.json on the first run; on a resumed run refuse a config that changed what was trained."""
    path = os.path.join(workdir, "config.json")
    if os.path.exists(path):
        with open(path) as fh:
            saved = _flatten(json.load(fh))
        current = _flatten(json.loads(cfg.to_json()))
        saved = {**{k: v for k, v in ADDED_FIELD_DEFAULTS.items() if k in current}, **saved}
        changed = sorted(k for k in set(saved) | set(current)
                         if k not in RESUMABLE_FIELDS and not k.startswith("attack.")
                         and saved.get(k) != current.get(k))
        if changed:
            raise ValueError(f"{workdir} holds a run with a different config (changed: {', '.join(changed)}); "
                             "use a fresh --workdir or the same config.")
    write_json_atomic(path, json.loads(cfg.to_json()))


def write_json_atomic(path: str, obj: Any) -> None:
    """Write JSON to a temporary file next to `path`, then rename: a reader sees the old file or the new one."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2)
    os.replace(tmp, path)


def load_config(workdir: str) -> ml_collections.ConfigDict:
    """The config a workdir was trained with."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: {workdir} is not a finished or running RMFT workdir.")
    with open(path) as fh:
        return ml_collections.ConfigDict(json.load(fh))


def _stats(curves_NxT: jax.Array) -> dict[str, float]:
    """eval_regret (mean at T), beta_hat and p_reg of the mean curve, and how many rounds entered the fit."""
    fit = regret.growth(jnp.mean(curves_NxT, axis=0))
    # num_fit_rounds < T means some rounds had mean regret <= 0 (no log): the fit ignores them.
    return {"eval_regret": float(jnp.mean(curves_NxT[:, -1])), "beta_hat": float(fit["beta_hat"]),
            "p_reg": float(fit["p_reg"]), "num_fit_rounds": int(fit["num_points"])}


def heldout_baselines(cfg: Any, rewards_NxTxA: jax.Array) -> tuple[dict, dict]:
    """FTL, Hedge with the theory eta and Hedge with eta tuned on the held-out set: stats and curves."""
    grid = [float(eta) for eta in cfg.eval.eta_grid]
    finals = [float(jnp.mean(full_info.hedge_regret(rewards_NxTxA, eta)[:, -1])) for eta in grid]
    eta_tuned = grid[int(np.argmin(finals))]
    eta_theory = full_info.hedge_theory_eta(cfg.env.horizon, cfg.env.num_actions)
    curves = {"ftl": regret.static_regret(rewards_NxTxA, full_info.ftl(rewards_NxTxA)),
              "ftrl": full_info.hedge_regret(rewards_NxTxA, eta_tuned),
              "ftrl_theory": full_info.hedge_regret(rewards_NxTxA, eta_theory)}
    stats = {name: _stats(c) for name, c in curves.items()}
    stats["ftrl"]["eta"], stats["ftrl_theory"]["eta"] = eta_tuned, eta_theory
    stats["ftrl"]["eta_grid"], stats["ftrl"]["grid_regret"] = grid, finals
    return stats, curves


def sample_heldout(env: Any, key: jax.Array, num: int) -> tuple[jax.Array, np.ndarray]:
    """Held-out reward tables (N, T, A) and each one's scenario index into cfg.env.scenarios."""
    if isinstance(env, envs.MixtureFOL):
        rewards_NxTxA, labels_N = envs.sample_batch(env, key, num, method="sample_with_label")
        return rewards_NxTxA, np.asarray(labels_N)
    return envs.sample_batch(env, key, num), np.zeros(num, np.int32)


def per_scenario_regret(curves: dict, labels_N: np.ndarray, names: tuple) -> dict:
    """Mean regret at T of each method on each scenario kind of the held-out mixture."""
    return {name: {method: float(np.mean(np.asarray(c)[labels_N == i, -1])) for method, c in curves.items()}
            for i, name in enumerate(names) if np.any(labels_N == i)}


def _write_outputs(workdir: str, results: dict, curves: dict, history: list) -> None:
    """results.json and the two figures."""
    write_json_atomic(os.path.join(workdir, "results.json"), results)
    labels = {"initial": "initial model", "final": "RMFT model", "ftl": "FTL",
              "ftrl": f"Hedge (tuned eta={results['ftrl']['eta']:.3g})"}
    panel = {labels[k]: np.asarray(curves[k]) for k in ("initial", "final", "ftl", "ftrl")}
    plotting.plot_regret_panels({f"held-out FOL, T={results['horizon']}, A={results['num_actions']}": panel},
                                os.path.join(workdir, "regret_curves.png"), ylabel=None)
    evaluated = [r for r in history if r.get("eval_regret") is not None]
    series = {"rollout regret": [r["rollout_regret"] for r in history],
              "SFT loss": [r["sft_loss"] for r in history],
              "held-out regret": [r["eval_regret"] for r in evaluated],
              "held-out beta-hat": [r["beta_hat"] for r in evaluated]}
    plotting.plot_series(series, os.path.join(workdir, "training_curves.png"), title="Iterative RMFT")


def run(cfg: Any, workdir: str, log: Callable[[str], None] = print) -> dict:
    """Train (or resume, or just report a finished run) and return the results dict; one run per workdir."""
    fol.validate_config(cfg)
    os.makedirs(workdir, exist_ok=True)
    with workdir_lock.hold(workdir):
        return _run_locked(cfg, workdir, log)


def _run_locked(cfg: Any, workdir: str, log: Callable[[str], None]) -> dict:
    """`run`'s body, with the workdir's lock held."""
    check_workdir_config(cfg, workdir)
    settings = fol.FOLSettings.from_config(cfg)
    mesh = parallel.make_data_mesh(parallel.data_axis_size(cfg))
    env = fol.build_env(cfg)
    key_eval, key_train = jax.random.split(jax.random.key(int(cfg.seed)), 2)
    graphdef, params = fol.build_model(cfg, seed=int(cfg.seed))
    optimizer = fol.build_optimizer(cfg)
    opt_state = optimizer.init(params)
    ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"), int(cfg.checkpoint.max_to_keep))
    start, params, opt_state, history = train_loop.restore(ckpt, params, opt_state, log)
    params, opt_state = parallel.replicate(mesh, (params, opt_state))
    total = int(cfg.rmft.num_iterations)
    results_path = os.path.join(workdir, "results.json")
    if start >= total and os.path.exists(results_path):
        log(f"{workdir} already finished {start} iterations; nothing to do (results in {results_path}).")
        ckpt.close()
        with open(results_path) as fh:
            return json.load(fh)

    heldout_NxTxA, labels_N = sample_heldout(env, key_eval, int(cfg.eval.num_scenarios))
    heldout_local_NxTxA, heldout_NxTxA = heldout_NxTxA, parallel.put_batch(mesh, heldout_NxTxA)
    jitted_evaluate = fol.make_evaluate(graphdef, settings.temperature, mesh)
    evaluate = lambda p, r: jax.tree.map(parallel.to_host, jitted_evaluate(p, r))
    t0 = time.perf_counter()
    key_train = parallel.replicate(mesh, key_train)
    iteration = fol.make_iteration(env, graphdef, optimizer, settings, mesh).lower(
        params, opt_state, key_train).compile()
    init_params = parallel.replicate(mesh, fol.build_model(cfg, seed=int(cfg.seed))[1])
    init_curves, _ = evaluate(init_params, heldout_NxTxA)
    compile_s = time.perf_counter() - t0
    log(f"compiled in {compile_s:.1f}s; training iterations {start + 1}..{total}")

    evaluate_stats = lambda p: {k: float(v) for k, v in jax.device_get(evaluate(p, heldout_NxTxA)[1]).items()}
    params, opt_state, history = train_loop.train(iteration, evaluate_stats, (params, opt_state), key_train, total,
                                                  int(cfg.eval.every), ckpt, log, start, history,
                                                  metrics_path=os.path.join(workdir, "metrics.jsonl")
                                                  if jax.process_index() == 0 else None)

    final_curves, _ = evaluate(params, heldout_NxTxA)
    base_stats, base_curves = heldout_baselines(cfg, heldout_local_NxTxA)
    results = {
        "config": cfg.to_dict(), "horizon": settings.horizon, "num_actions": settings.num_actions,
        "iterations": history, "initial": _stats(init_curves), "final": _stats(final_curves), **base_stats,
        "per_scenario": per_scenario_regret({"initial": init_curves, "final": final_curves, **base_curves},
                                            labels_N, tuple(cfg.env.scenarios)),
        "compile_seconds": compile_s, "train_seconds": float(sum(r["seconds"] for r in history)),
    }
    results["final"]["ratio_to_tuned_hedge"] = results["final"]["eval_regret"] / results["ftrl"]["eval_regret"]
    results["final"]["ratio_to_initial"] = results["final"]["eval_regret"] / results["initial"]["eval_regret"]
    if cfg.get("attack", {}).get("at_end", False):
        t_attack = time.perf_counter()
        results["worst_case"] = w = attack_study.training_worst_case(cfg, graphdef, params, results["ftrl"]["eta"])
        results["attack_seconds"] = time.perf_counter() - t_attack
        log(f"worst found regret at T={w['horizon']}: model {w['model']:.3f} ({w['model_method']}), tuned Hedge "
            f"{w['hedge_tuned']:.3f} ({w['ratio_to_hedge_tuned']:.2f}x; lower bounds, {results['attack_seconds']:.1f}s)")
    ckpt.close()
    if jax.process_index() == 0:  # one writer when several hosts share the workdir
        _write_outputs(workdir, results, {"initial": init_curves, "final": final_curves, **base_curves}, history)
    f, h = results["final"], results["ftrl"]
    log(f"final held-out regret {f['eval_regret']:.3f} (beta-hat {f['beta_hat']:.3f}, p_reg {f['p_reg']:.2g}); "
        f"tuned Hedge {h['eval_regret']:.3f} (eta {h['eta']:.3g}); initial {results['initial']['eval_regret']:.3f}")
    return results


def cli_run(cfg: Any, workdir: str, run_fn: Callable | None = None) -> None:
    """Command-line wrapper of `run` (or `run_fn`): bad input, a broken checkpoint or a NaN exits with one line."""
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    try:
        (run_fn or run)(cfg, workdir)
    except (ValueError, FileNotFoundError, checkpoint.CheckpointError, TrainingDiverged,
            workdir_lock.WorkdirBusy) as err:
        sys.exit(f"error: {err}")
