"""The FOL experiment: the FOL task in the generic driver (`driver.run`), its evaluation and report.

`FOLExperiment.build` makes the run: the jitted core-loop iteration on the FOL task, the held-out
evaluation and the report (initial and final model against FTL and Hedge, per scenario kind, the
optional end-of-run worst-case check). Re-running with the same workdir resumes from the newest
checkpoint and ends with the numbers an uninterrupted run would give; a finished run is not redone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import jax
import numpy as np

from rmft_jax import parallel
from rmft_jax.attacks import training_check
from rmft_jax.tasks.fol import grading as fol_grading
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import driver, workdir_files
from rmft_jax.training.train_loop import TrainingDiverged  # noqa: F401  (re-exported: fol_train.TrainingDiverged)


def check_workdir_config(cfg: Any, workdir: str) -> None:
    """Write config.json on the first run; on a resumed run refuse a config that changed what was trained."""
    workdir_files.check_config(cfg, workdir, fol.ADDED_FIELD_DEFAULTS)


def _write_figures(workdir: str, results: dict, curves: dict, history: list) -> None:
    """regret_curves.png and training_curves.png."""
    from rmft_jax import plotting  # matplotlib only when figures are written

    labels = {
        "initial": "initial model",
        "final": "RMFT model",
        "ftl": "FTL",
        "ftrl": f"Hedge (tuned in-sample, eta={results['ftrl']['eta']:.3g})",
        "adahedge": "AdaHedge",
        "bayes": "Bayes limit",
    }
    panel = {labels[k]: np.asarray(curves[k]) for k in labels if k in curves}
    plotting.plot_regret_panels(
        {f"held-out FOL, T={results['horizon']}, A={results['num_actions']}": panel},
        os.path.join(workdir, "regret_curves.png"),
        ylabel=None,
    )
    evaluated = [r for r in history if r.get("eval_regret") is not None]
    series = {
        "rollout regret": [r["rollout_regret"] for r in history],
        "SFT loss": [r["sft_loss"] for r in history],
        "held-out regret": [r["eval_regret"] for r in evaluated],
        "held-out beta-hat": [r["beta_hat"] for r in evaluated],
    }
    plotting.plot_series(series, os.path.join(workdir, "training_curves.png"), title="Iterative RMFT")


class FOLExperiment:
    """The FOL task for `driver.run`: config validation and the run of a config."""

    added_defaults = fol.ADDED_FIELD_DEFAULTS

    def __init__(self, log: Callable[[str], None] = print):
        """`log` receives the report's summary lines."""
        self.log = log

    def validate(self, cfg: Any) -> None:
        """`fol.validate_config`."""
        fol.validate_config(cfg)

    def build(self, cfg: Any) -> driver.Run:
        """The jitted iteration, held-out evaluation and report of a validated FOL config."""
        settings = fol.FOLSettings.from_config(cfg)
        mesh = parallel.make_data_mesh(parallel.data_axis_size(cfg))
        env = fol.build_env(cfg)
        key_eval, key_train = jax.random.split(jax.random.key(int(cfg.seed)), 2)
        graphdef, params = fol.build_model(cfg, seed=int(cfg.seed))
        optimizer = fol.build_optimizer(cfg)
        prepared = Prepared(cfg, env, key_eval, graphdef, settings.temperature, mesh, params)

        def evaluate(p):
            """Held-out regret, beta-hat and p_reg of params."""
            return {k: float(v) for k, v in jax.device_get(prepared.evaluate(p)[1]).items()}

        def report(init_params, final_params, history):
            """results.json's dict and the figures' writer."""
            init_curves = parallel.to_host(prepared.evaluate(parallel.replicate(mesh, init_params))[0])
            final_curves = parallel.to_host(prepared.evaluate(final_params)[0])
            base_stats, base_curves = prepared.baselines.result()
            all_curves = {"initial": init_curves, "final": final_curves, **base_curves}
            results = {
                "config": cfg.to_dict(),
                "horizon": settings.horizon,
                "num_actions": settings.num_actions,
                "iterations": history,
                "initial": fol_grading.curve_stats(init_curves),
                "final": fol_grading.curve_stats(final_curves),
                **base_stats,
                "per_scenario": fol_grading.per_scenario_regret(
                    all_curves, prepared.labels_N(), tuple(cfg.env.scenarios)
                ),
            }
            f, h, i = results["final"], results["ftrl"], results["initial"]
            f["ratio_to_tuned_hedge"], f["ratio_to_initial"] = (
                f["eval_regret"] / h["eval_regret"],
                f["eval_regret"] / i["eval_regret"],
            )
            results["grade"] = g = fol_grading.grade(results)
            results["grade_per_scenario"] = {
                name: fol_grading.grade_scenario(row) for name, row in results["per_scenario"].items()
            }
            if prepared.hedge_attack is not None:
                self._worst_case(cfg, graphdef, final_params, results, prepared.hedge_attack.result())
            self.log(
                f"final held-out regret {f['eval_regret']:.3f} (beta-hat {f['beta_hat']:.3f}, p_reg "
                f"{f['p_reg']:.2g}); tuned Hedge {h['eval_regret']:.3f} (eta {h['eta']:.3g}); initial "
                f"{i['eval_regret']:.3f}; best prior-free {g['best_prior_free']} {g['best_prior_free_regret']:.3f} "
                f"({g['ratio_to_best_prior_free']:.2f}x); Bayes limit {g['limit_regret']:.3f}; gap closed "
                f"{g['gap_closed']:.0%}"
            )
            return results, lambda workdir: _write_figures(workdir, results, all_curves, history)

        return driver.Run(
            iteration=fol.make_iteration(env, graphdef, optimizer, settings, mesh),
            params=params,
            opt_state=optimizer.init(params),
            key_train=parallel.replicate(mesh, key_train),
            evaluate=evaluate,
            report=report,
            place=lambda tree: parallel.replicate(mesh, tree),
        )

    def _worst_case(self, cfg: Any, graphdef: Any, params: Any, results: dict, hedge: dict) -> None:
        """The end-of-run worst-case check (cfg.attack.at_end) into results['worst_case']."""
        t_attack = time.perf_counter()
        results["worst_case"] = w = training_check.training_worst_case(
            cfg, graphdef, params, results["ftrl"]["eta"], hedge
        )
        # attack_seconds: the model's search after training; Hedge's ran on the background thread during training.
        results["attack_seconds"], results["hedge_attack_seconds"] = time.perf_counter() - t_attack, hedge["seconds"]
        self.log(
            f"worst found regret at T={w['horizon']}: model {w['model']:.3f} ({w['model_method']}), tuned "
            f"Hedge {w['hedge_tuned']:.3f} ({w['ratio_to_hedge_tuned']:.2f}x; lower bounds, "
            f"{results['attack_seconds']:.1f}s + {hedge['seconds']:.1f}s during training)"
        )


class Prepared:
    """What the run needs besides training, started on a background thread while the main thread compiles
    and trains (the two cores compile two programs at once): the held-out set and its compiled evaluation,
    the baselines on it and, with cfg.attack.at_end, tuned Hedge's worst case. None of it depends on the
    model's training, so the numbers are those of a sequential run."""

    def __init__(
        self, cfg: Any, env: Any, key_eval: jax.Array, graphdef: Any, temperature: float, mesh: Any, params: Any
    ):
        """Submit the work; each part is a future, read with .result() (which re-raises its error)."""
        pool = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="fol-prepare")
        heldout = pool.submit(fol_grading.sample_heldout, env, key_eval, int(cfg.eval.num_scenarios))
        jitted = fol.make_evaluate(graphdef, temperature, mesh)

        def compile_evaluate():
            heldout_NxTxA = parallel.put_batch(mesh, heldout.result()[0])
            return jitted.lower(parallel.replicate(mesh, params), heldout_NxTxA).compile(), heldout_NxTxA

        self._evaluate = pool.submit(compile_evaluate)
        self._heldout = heldout
        self.baselines = pool.submit(lambda: fol_grading.heldout_baselines(cfg, heldout.result()[0], env))
        self.hedge_attack = None
        if cfg.get("attack", {}).get("at_end", False):
            self.hedge_attack = pool.submit(_timed_hedge_worst_case, cfg, self.baselines)
        pool.shutdown(wait=False)  # the submitted work runs on; nothing else is submitted

    def evaluate(self, params: Any) -> tuple:
        """(curves (N, T), stats) of params on the held-out set (compiled once)."""
        compiled, heldout_NxTxA = self._evaluate.result()
        return compiled(params, heldout_NxTxA)

    def labels_N(self) -> np.ndarray:
        """Each held-out table's scenario index."""
        return self._heldout.result()[1]


def _timed_hedge_worst_case(cfg: Any, baselines: futures.Future) -> dict:
    """Tuned Hedge's worst case (training_check.hedge_worst_case) and its seconds."""
    eta_tuned = baselines.result()[0]["ftrl"]["eta"]
    start = time.perf_counter()
    out = training_check.hedge_worst_case(cfg, eta_tuned)
    return {**out, "seconds": time.perf_counter() - start}


def run(cfg: Any, workdir: str, log: Callable[[str], None] = print) -> dict:
    """Train (or resume, or just report a finished run) and return the results dict; one run per workdir."""
    return driver.run(cfg, workdir, FOLExperiment(log), log)
