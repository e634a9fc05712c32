"""The bandit experiment (MAB, NS-MAB) in the generic driver (`driver.run`): each init a part, then the report.

For each init in cfg.inits with S > 0 seeds ("scratch": the model as built; "greedy": first fitted to
Greedy's trajectories), S models (seeds cfg.seed .. cfg.seed + S - 1) train together: the iteration
is vmapped over seeds, one compiled call, one checkpoint directory (workdir/checkpoints/INIT). Validation,
the workdir lock, resume, checkpoint cadence, NaN stop and the results write are the driver's, as for FOL.
Then every method is scored on the same held-out instances and reward draws (`BanditExperiment._report`).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import envs, metrics, regret
from rmft_jax.core import sft
from rmft_jax.tasks.bandit import evaluation as bandit_eval
from rmft_jax.tasks.bandit import task as bandit
from rmft_jax.tasks.bandit import transfer as bandit_transfer
from rmft_jax.training import driver

METHOD_NAMES = {"scratch": ("initial", "rmft"), "greedy": ("greedy_init", "greedy_init_rmft")}


def stack_models(cfg: Any, num_seeds: int) -> tuple[Any, Any]:
    """(graphdef, params stacked over seeds cfg.seed + i)."""
    built = [bandit.build_model(cfg, seed=int(cfg.seed) + i) for i in range(num_seeds)]
    return built[0][0], jax.tree.map(lambda *xs: jnp.stack(xs), *[p for _, p in built])


def per_seed(fn: Callable) -> Callable:
    """fn(params, opt_state, key) vmapped over seeds, seed i drawing from fold_in(key, i); jitted."""

    def batched(params, opt_state, key):
        num = jax.tree.leaves(params)[0].shape[0]
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(num))
        return jax.vmap(fn)(params, opt_state, keys)

    return jax.jit(batched)


def greedy_init(cfg, env, graphdef, optimizer, settings, params, key, log) -> Any:
    """Fit every seed's model to Greedy's trajectories (cfg.greedy_init); deterministic, so resumes redo it."""
    g = cfg.greedy_init
    imitation = per_seed(
        bandit.make_imitation(env, graphdef, optimizer, settings, int(g.num_scenarios), int(g.sft_steps))
    )
    opt_state = jax.vmap(optimizer.init)(params)
    t0 = time.perf_counter()
    for r in range(int(g.num_rounds)):
        params, opt_state, loss = imitation(params, opt_state, jax.random.fold_in(key, r))
    if int(g.num_rounds):
        log(
            f"greedy init: {g.num_rounds} rounds of imitation, loss {float(jnp.mean(loss)):.4f}, "
            f"{time.perf_counter() - t0:.1f}s"
        )
    return params


def make_scorer(graphdef, settings, task: str, heldout: Any, key: jax.Array) -> Callable:
    """score(stacked params) -> list of per-seed (actions, observed, curves) on the held-out set."""
    evaluate = bandit.make_evaluate(graphdef, settings)
    batched = jax.jit(jax.vmap(evaluate, in_axes=(0, None, None, None)))

    def score(params):
        """Per-seed held-out rollouts."""
        actions, observed, curves = batched(params, heldout.means_TxA, heldout.rewards_TxA, key)
        return [(actions[i], observed[i], curves[i]) for i in range(actions.shape[0])]

    return score


def progress_stats(outputs: list, heldout: Any) -> dict:
    """Per-iteration held-out numbers, averaged over seeds: regret, beta-hat, p_reg, SuffFailFreq(T/2)."""
    per = []
    for actions, _, curves in outputs:
        fit = jax.device_get(regret.growth(jnp.mean(curves, axis=0)))
        best_N = jnp.argmax(heldout.means_TxA[:, -1], axis=-1)
        per.append(
            {
                "eval_regret": float(jnp.mean(curves[:, -1])),
                "beta_hat": float(fit["beta_hat"]),
                "p_reg": float(fit["p_reg"]),
                "suff_fail_freq": float(metrics.suff_fail_freq(actions, best_N, actions.shape[1] // 2)),
            }
        )
    return {k: float(np.mean([p[k] for p in per])) for k in per[0]}


def build_init(cfg, init: str, env, heldout, optimizer, settings, key: jax.Array, log, initial: dict) -> driver.Run:
    """One init's Run over its seeds; its held-out scores before training go to initial[init]."""
    num_seeds = int(cfg.inits[init])
    key_train, key_greedy, key_score = jax.random.split(key, 3)
    graphdef, params = stack_models(cfg, num_seeds)
    score = make_scorer(graphdef, settings, cfg.task, heldout, key_score)
    if init == "greedy":
        params = greedy_init(cfg, env, graphdef, optimizer, settings, params, key_greedy, log)
    initial[init] = {"outputs": score(params), "params": params, "graphdef": graphdef, "score": score}
    return driver.Run(
        iteration=per_seed(bandit.make_iteration(env, graphdef, optimizer, settings)),
        params=params,
        opt_state=jax.vmap(optimizer.init)(params),
        key_train=key_train,
        evaluate=lambda p: progress_stats(score(p), heldout),
    )


def arm_choice_demo(heldout: Any, demo_models: dict, settings, key: jax.Array, num_runs: int = 400) -> dict:
    """Arm choices (R, T) on one held-out instance whose best arm changes, R fresh reward draws, per method.

    The instance is the held-out one with the most best-arm changes; models use their first seed.
    """
    best_NxT = np.argmax(np.asarray(heldout.means_TxA), axis=-1)
    index = int(np.argmax(np.sum(best_NxT[:, 1:] != best_NxT[:, :-1], axis=1)))
    means_TxA = heldout.means_TxA[index]
    means_RxTxA = jnp.broadcast_to(means_TxA, (num_runs,) + means_TxA.shape)
    key_draw, key_roll, key_base = jax.random.split(key, 3)
    rewards_RxTxA = envs.draw_rewards(key_draw, means_RxTxA, "bernoulli")
    choices = {}
    for name, (graphdef, params) in demo_models.items():
        first = jax.tree.map(lambda x: x[0], params)
        evaluate = jax.jit(bandit.make_evaluate(graphdef, settings))
        choices[name] = np.asarray(evaluate(first, means_RxTxA, rewards_RxTxA, key_roll)[0])
    for name, (actions, _, _) in bandit_eval.run_baselines(
        ("sw_ucb", "d_ucb"), key_base, means_RxTxA, rewards_RxTxA
    ).items():
        choices[name] = np.asarray(actions)
    return {"means_TxA": np.asarray(means_TxA), "choices": choices}


# The references' outputs depend only on the held-out set, the seed and the training prior, not on what an arm
# trains: the arms of a study share them within a process.
_REFERENCE_CACHE: dict[str, dict] = {}


def _references(cfg: Any, names: tuple, key_baselines: jax.Array, heldout: Any, hparams: dict) -> dict:
    """eval.references on the held-out set (cached per held-out set, seed and prior)."""
    signature = json.dumps(
        [names, cfg.task, int(cfg.seed), cfg.env.to_dict(), cfg.eval.env.to_dict(), int(cfg.eval.num_scenarios)],
        sort_keys=True,
        default=str,
    )
    if signature not in _REFERENCE_CACHE:
        # fold_in(key_baselines, 2): a stream of its own, so the baselines' draws are those of runs made before.
        _REFERENCE_CACHE[signature] = bandit_eval.run_per_instance(
            names, jax.random.fold_in(key_baselines, 2), heldout.means_TxA, heldout.rewards_TxA, hparams
        )
    return _REFERENCE_CACHE[signature]


class BanditExperiment:
    """MAB / NS-MAB for `driver.run`: each init with seeds is a part of the run (checkpoints/INIT)."""

    added_defaults = bandit.ADDED_FIELD_DEFAULTS
    # eval.references are scored after training: adding or changing them does not change what was trained.
    ignored_prefixes = ("attack.", "eval.references")

    def __init__(self, log: Callable[[str], None] = print):
        """`log` receives progress and the report's summary lines."""
        self.log = log

    def validate(self, cfg: Any) -> None:
        """`bandit.validate_config`."""
        bandit.validate_config(cfg)

    def parts(self, cfg: Any) -> tuple[str, ...]:
        """The inits that train (at least one seed), in bandit.INITS order."""
        return tuple(init for init in bandit.INITS if int(cfg.inits.get(init, 0)))

    def stale(self, cfg: Any, stored: dict) -> str | None:
        """Stale grading, not stale training: eval.references changed since results.json was written."""
        if list(stored["config"]["eval"].get("references", ())) != list(cfg.eval.get("references", ())):
            return "eval.references changed since results.json was written"
        return None

    def build(self, cfg: Any) -> driver.Parts:
        """The inits' runs (built in turn) and the report over all of them."""
        settings = bandit.BanditSettings.from_config(cfg)
        env, eval_env = bandit.build_envs(cfg)
        optimizer = sft.optimizer_from_config(cfg)
        key_eval, key_baselines, key_inits = jax.random.split(jax.random.key(int(cfg.seed)), 3)
        heldout = envs.sample_batch(eval_env, key_eval, int(cfg.eval.num_scenarios))
        initial: dict = {}
        builds = {
            init: functools.partial(
                build_init,
                cfg,
                init,
                env,
                heldout,
                optimizer,
                settings,
                jax.random.fold_in(key_inits, i),
                self.log,
                initial,
            )
            for i, init in enumerate(bandit.INITS)
            if int(cfg.inits.get(init, 0))
        }
        labels = {init: f"[{init}, {int(cfg.inits[init])} seed(s)] " for init in builds}

        def report(trained: dict) -> tuple[dict, Callable[[str], None]]:
            """results.json's dict and the figures' writer."""
            return self._report(cfg, settings, heldout, key_baselines, initial, trained)

        return driver.Parts(builds, report, labels)

    def _report(self, cfg, settings, heldout, key_baselines, initial: dict, trained: dict) -> tuple[dict, Callable]:
        """Every method on the same held-out instances and reward draws; the grades; the transfer tests."""
        log = self.log
        means, task = heldout.means_TxA, cfg.task
        outputs, runs, demo_models = {}, {}, {}
        for init, part in trained.items():
            first, last = METHOD_NAMES[init]
            start = initial[init]
            outputs[first], outputs[last] = start["outputs"], start["score"](part.params)
            runs[init] = {
                "history": part.history,
                "compile_seconds": part.compile_seconds,
                "train_seconds": float(sum(r["seconds"] for r in part.history)),
            }
            demo_models.update({first: (start["graphdef"], start["params"]), last: (start["graphdef"], part.params)})
        for name, out in bandit_eval.run_baselines(
            tuple(cfg.eval.baselines), key_baselines, means, heldout.rewards_TxA
        ).items():
            outputs[name] = [out]
        references = [n for n in cfg.eval.get("references", ()) if bandit_eval.prior_hparams(cfg, n) is not None]
        hparams = {n: bandit_eval.prior_hparams(cfg, n) for n in references}
        for name, out in _references(cfg, tuple(references), key_baselines, heldout, hparams).items():
            outputs[name] = [out]
        methods = {
            name: bandit_eval.mean_over_seeds([bandit_eval.method_stats(c, a, o, means, task) for a, o, c in outs])
            for name, outs in outputs.items()
        }
        results = {
            "task": task,
            "horizon": settings.horizon,
            "num_actions": settings.num_actions,
            "num_heldout": int(cfg.eval.num_scenarios),
            "methods": methods,
            "runs": runs,
            "config": cfg.to_dict(),
        }
        baselines = (*cfg.eval.baselines, *references)
        results["kinds"] = {n: bandit_eval.reference_kind(n) for n in baselines}
        results["reference_hparams"] = hparams
        grades = {
            model: bandit_eval.grade(methods, results["kinds"], model, first)
            for first, model in METHOD_NAMES.values()
            if model in methods
        }
        results["grade"] = grades.get("rmft")
        results["grades"] = grades
        if cfg.eval.get("transfer") and "rmft" in outputs:  # the scratch seeds' final models on the transfer tests
            graphdef, params_S = demo_models["rmft"]
            results["transfer"] = bandit_transfer.evaluate(
                cfg, graphdef, params_S, settings, jax.random.fold_in(key_baselines, 1)
            )
        if task == "nsmab":
            results["variation_budget"] = float(cfg.env.variation_budget)
            results["adapt_window"] = bandit_eval.ADAPT_WINDOW
        for name, m in methods.items():
            log(
                f"{name:>18}: regret {m['regret']:7.3f} beta-hat {m['beta_hat']:.3f} "
                f"SuffFail(T/2) {m['suff_fail_freq']['half']:.3f} K*MinFrac(T) {m['k_min_frac']['end']:.3f} "
                f"GreedyFrac(T) {m['greedy_frac']['end']:.3f}"
                + (f" adapt {m['adapt_share']:.3f}" if "adapt_share" in m else "")
            )
        for model, g in grades.items():
            if g is not None:
                log(
                    f"{model}: regret {methods[model]['regret']:.3f}; best prior-free {g['best_prior_free']} "
                    f"{g['best_prior_free_regret']:.3f} ({g['ratio_to_best_prior_free']:.2f}x); limit {g['limit']} "
                    f"{g['limit_regret']:.3f} ({g['ratio_to_limit']:.2f}x, an upper bound on the Bayes-optimal "
                    "regret); "
                    f"gap closed {g.get('gap_closed', float('nan')):.0%}"
                )

        def write_figures(workdir: str) -> None:
            """The regret and exploration figures (and, on NS-MAB, the arm choices on a changing instance)."""
            from rmft_jax import bandit_plots  # matplotlib only when figures are written

            demo = arm_choice_demo(heldout, demo_models, settings, key_baselines) if task == "nsmab" else None
            bandit_plots.write_figures(workdir, results, outputs, demo)

        return results, write_figures


def run(cfg: Any, workdir: str, log: Callable[[str], None] = print) -> dict:
    """Train every init (or resume, or just report a finished run) and return the results dict; one run per workdir."""
    return driver.run(cfg, workdir, BanditExperiment(log), log)
