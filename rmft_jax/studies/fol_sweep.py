"""A whole FOL RMFT run for S seeds in one compiled call: `vmap` over seeds of a `scan` over iterations.

Seed s uses exactly the keys of `fol_train.run` with `cfg.seed = s` (key(s) split into evaluation and
training keys; iteration i folds in i; the model initialized from seed s; held-out set from the
evaluation key), so sweep results equal S separate runs up to float reassociation. There are no
checkpoints: a sweep is for studies (ablations, seed intervals), the driver for long single runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax.intervals import mean_ci95
from rmft_jax.tasks import fol
from rmft_jax.training import fol_train


def stack_trees(trees: Sequence[Any]) -> Any:
    """Stack a list of identically structured pytrees along a new leading (seed) axis."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def seed_keys(seeds: Sequence[int]) -> tuple[jax.Array, jax.Array]:
    """(evaluation keys (S,), training keys (S,)): key(seed) split as in `fol_train.run`."""
    pairs = [jax.random.split(jax.random.key(int(s)), 2) for s in seeds]
    return jnp.stack([p[0] for p in pairs]), jnp.stack([p[1] for p in pairs])


def heldout_sets(cfg: Any, seeds: Sequence[int]) -> list[jax.Array]:
    """Each seed's held-out set (N, T, A): the one `fol_train.run` with that seed evaluates on."""
    keys_eval, _ = seed_keys(seeds)
    env = fol.build_env(cfg)
    return [fol_train.sample_heldout(env, k, int(cfg.eval.num_scenarios))[0] for k in keys_eval]


def make_sweep(cfg: Any) -> tuple[Callable, Any, Any]:
    """(jitted sweep(params_S, keys_train_S, heldout_SxNxTxA), graphdef, optimizer) for `cfg`.

    sweep returns final params (S, ...), a trace dict of (S, I) arrays (rollout_regret, sft_loss,
    eval_regret, beta_hat, p_reg, finite) and the final expected-regret curves (S, N, T).
    """
    fol.validate_config(cfg)
    settings = fol.FOLSettings.from_config(cfg)
    env = fol.build_env(cfg)
    graphdef, _ = fol.build_model(cfg, seed=0)
    optimizer = fol.build_optimizer(cfg)
    iteration = fol.make_iteration(env, graphdef, optimizer, settings)
    evaluate = fol.make_evaluate(graphdef, settings.temperature)
    num_iterations = int(cfg.rmft.num_iterations)

    def one_seed(params, key_train, heldout_NxTxA):
        def body(carry, it):
            p, s = carry
            p, s, metrics = iteration(p, s, jax.random.fold_in(key_train, it))
            _, held = evaluate(p, heldout_NxTxA)
            record = {
                "rollout_regret": metrics["rollout_regret"],
                "sft_loss": metrics["sft_loss"],
                "finite": metrics["finite"],
                **held,
            }
            return (p, s), record

        (params, _), trace = jax.lax.scan(body, (params, optimizer.init(params)), jnp.arange(num_iterations))
        curves_NxT, _ = evaluate(params, heldout_NxTxA)
        return params, trace, curves_NxT

    return jax.jit(jax.vmap(one_seed)), graphdef, optimizer


# The references every seed is graded against (fol_train.heldout_baselines): prior-free ones and the Bayes limit.
REFERENCES = (*fol_train.PRIOR_FREE_EXTRA, "bayes")


def run_seeds(cfg: Any, seeds: Sequence[int], log: Callable[[str], None] = print, init_params: Any = None) -> dict:
    """Train `cfg` for every seed in one compiled call; per-seed and pooled held-out statistics.

    `init_params` (stacked (S, ...)) replaces the configured model's random initialization (a sanity
    check's known starting point); the training keys stay the seeds'.

    Returns {"seeds", "final": {eval_regret, beta_hat, p_reg: mean_ci95}, "initial", "ftrl"
    (Hedge tuned per seed's held-out set), "ratio_to_tuned_hedge", "per_seed": [...],
    "trace_eval_regret": (I,) mean over seeds, "finite": all seeds finite, "params" (stacked, not JSON)}.
    """
    sweep, graphdef, _ = make_sweep(cfg)
    _, keys_train = seed_keys(seeds)
    heldout = heldout_sets(cfg, seeds)
    heldout_SxNxTxA = jnp.stack(heldout)
    if init_params is None:
        init_params = stack_trees([fol.build_model(cfg, seed=int(s))[1] for s in seeds])
    start = time.perf_counter()
    compiled = sweep.lower(init_params, keys_train, heldout_SxNxTxA).compile()
    compile_s = time.perf_counter() - start
    params, trace, curves_SxNxT = jax.block_until_ready(compiled(init_params, keys_train, heldout_SxNxTxA))
    seconds = time.perf_counter() - start - compile_s
    evaluate = fol.make_evaluate(graphdef, float(cfg.rmft.temperature))
    per_seed = []
    for i, seed in enumerate(seeds):
        init_curves, _ = evaluate(jax.tree.map(lambda x: x[i], init_params), heldout[i])  # noqa: B023 - called inside this iteration
        base, _ = fol_train.heldout_baselines(cfg, heldout[i])
        final = fol_train._stats(curves_SxNxT[i])
        per_seed.append(
            {
                "seed": int(seed),
                "final": final,
                "initial": fol_train._stats(init_curves),
                "ftrl": {k: base["ftrl"][k] for k in ("eval_regret", "beta_hat", "p_reg", "eta")},
                "ftl": {k: base["ftl"][k] for k in ("eval_regret", "beta_hat", "p_reg")},
                **{name: {"eval_regret": base[name]["eval_regret"]} for name in REFERENCES},
                "finite": bool(np.all(np.asarray(trace["finite"][i]))),
            }
        )
        per_seed[-1]["grade"] = fol_train.grade({**per_seed[-1], "ftrl_theory": base["ftrl_theory"]})

    def pooled(part, key):
        return mean_ci95([r[part][key] for r in per_seed])

    out = {
        "seeds": [int(s) for s in seeds],
        "final": {k: pooled("final", k) for k in ("eval_regret", "beta_hat", "p_reg")},
        "initial": {k: pooled("initial", k) for k in ("eval_regret", "beta_hat")},
        "ftrl": {k: pooled("ftrl", k) for k in ("eval_regret", "eta")},
        "ftl": {"eval_regret": pooled("ftl", "eval_regret")},
        "ratio_to_tuned_hedge": mean_ci95([r["final"]["eval_regret"] / r["ftrl"]["eval_regret"] for r in per_seed]),
        **{name: {"eval_regret": pooled(name, "eval_regret")} for name in REFERENCES},
        "grade": {
            k: mean_ci95([r["grade"][k] for r in per_seed])
            for k in (
                "best_prior_free_regret",
                "limit_regret",
                "ratio_to_best_prior_free",
                "excess_over_limit",
                "gap_closed",
            )
        },
        "best_prior_free_names": [r["grade"]["best_prior_free"] for r in per_seed],
        "per_seed": per_seed,
        "trace_eval_regret": [float(v) for v in np.mean(np.asarray(trace["eval_regret"]), axis=0)],
        "finite": all(r["finite"] for r in per_seed),
        "seconds": seconds,
        "compile_seconds": compile_s,
        "params": params,
    }
    f = out["final"]["eval_regret"]
    log(
        f"  {len(seeds)} seeds in {seconds:.1f}s (compile {compile_s:.1f}s): "
        f"final regret {f['mean']:.3f} ± {f['ci95']:.3f} "
        f"(tuned Hedge {out['ftrl']['eval_regret']['mean']:.3f})"
    )
    return out
