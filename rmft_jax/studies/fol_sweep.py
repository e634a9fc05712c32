"""A whole FOL RMFT run for S seeds in compiled calls: `vmap` over seeds of a `scan` over iterations.

Seed s uses exactly the keys of `fol_train.run` with `cfg.seed = s` (key(s) split into evaluation and
training keys; iteration i folds in i; the model initialized from seed s; held-out set from the
evaluation key), so sweep results equal S separate runs up to float reassociation. The held-out set is
evaluated every `eval.every` iterations and after the last, as in the driver. With a workdir the sweep
runs in chunks of `checkpoint.every` iterations and checkpoints the stacked state after each, so a killed
study resumes its arm; chunks give the floats of one call bit for bit (`Sweep.chunk`), so a resumed, a
checkpointed and an unchunked sweep end with the same numbers.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax.intervals import mean_ci95
from rmft_jax.tasks.fol import grading as fol_grading
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import checkpoint, driver, train_loop


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
    return [fol_grading.sample_heldout(env, k, int(cfg.eval.num_scenarios))[0] for k in keys_eval]


TRACE_KEYS = ("rollout_regret", "sft_loss", "sft_loss_first", "finite", "eval_regret", "beta_hat", "p_reg")


class Sweep:
    """The compiled pieces of a config's sweep: chunks of iterations over stacked seeds, and the final curves."""

    def __init__(self, cfg: Any):
        fol.validate_config(cfg)
        settings = fol.FOLSettings.from_config(cfg)
        self.graphdef, _ = fol.build_model(cfg, seed=0)
        self.optimizer = fol.build_optimizer(cfg)
        self._iteration = fol.make_iteration(fol.build_env(cfg), self.graphdef, self.optimizer, settings)
        self.evaluate = fol.make_evaluate(self.graphdef, settings.temperature)
        self.num_iterations, self.eval_every = int(cfg.rmft.num_iterations), int(cfg.eval.every)
        self.loss_bound = driver.loss_bound(cfg)
        self.curves = jax.jit(jax.vmap(lambda p, h: self.evaluate(p, h)[0]))

    @functools.cache  # noqa: B019 - one compile per chunk length, for the sweep's lifetime
    def chunk(self, length: int) -> Callable:
        """(params_S, opt_state_S, keys_train_S, heldout_SxNxTxA, start) -> (params_S, opt_state_S, trace (S, length)).

        The optimizer's integer leaves (its step counts, the same for every seed) enter unbatched, as they are
        inside a single vmapped run; batched, Adam's bias correction would be computed per seed and round
        differently. So a run in chunks gives the floats of one call, bit for bit, whatever the chunk size.
        """

        def one_seed(params, opt_state, key_train, heldout_NxTxA, start):
            def body(carry, it):
                p, s = carry
                p, s, metrics = self._iteration(p, s, jax.random.fold_in(key_train, it))
                if self.eval_every == 1:  # every iteration: no branch
                    held = self.evaluate(p, heldout_NxTxA)[1]
                else:
                    due = ((it + 1) % self.eval_every == 0) | (it + 1 == self.num_iterations)
                    shapes = jax.eval_shape(lambda q: self.evaluate(q, heldout_NxTxA)[1], p)
                    held = jax.lax.cond(
                        due,
                        lambda q: self.evaluate(q, heldout_NxTxA)[1],
                        lambda q: jax.tree.map(lambda x: jnp.full(x.shape, jnp.nan, x.dtype), shapes),
                        p,
                    )
                record = {k: metrics[k] for k in ("rollout_regret", "sft_loss", "sft_loss_first", "finite")}
                return (p, s), {**record, **held}

            (params, opt_state), trace = jax.lax.scan(body, (params, opt_state), start + jnp.arange(length))
            return params, opt_state, trace

        def run(params_S, opt_state_S, keys_train_S, heldout_SxNxTxA, start):
            axes = jax.tree.map(lambda x: None if jnp.issubdtype(x.dtype, jnp.integer) else 0, opt_state_S)
            shared = jax.tree.map(lambda x, a: x if a == 0 else x[0], opt_state_S, axes)
            return jax.vmap(one_seed, in_axes=(0, axes, 0, 0, None))(
                params_S, shared, keys_train_S, heldout_SxNxTxA, start
            )

        return jax.jit(run)


def _signature(cfg: Any, seeds: Sequence[int], init_params: Any) -> str:
    """What a sweep's checkpoints belong to: its config, its seeds and whether it started from given params."""
    return json.dumps([cfg.to_dict(), [int(s) for s in seeds], init_params is not None], sort_keys=True, default=str)


def train_seeds(
    sweep: Sweep,
    cfg: Any,
    seeds: Sequence[int],
    params_S: Any,
    heldout_SxNxTxA: jax.Array,
    workdir: str | None,
    log: Callable[[str], None] = print,
    signature: str = "",
) -> tuple[Any, dict, jax.Array, float, float]:
    """Train stacked seeds to cfg.rmft.num_iterations; (params_S, trace (S, I) arrays, curves_SxNxT, seconds,
    compile seconds). With `workdir`, resume from its newest checkpoint and save every checkpoint.every."""
    _, keys_train = seed_keys(seeds)
    opt_state_S = jax.vmap(sweep.optimizer.init)(params_S)
    total = sweep.num_iterations
    every = int(cfg.checkpoint.every) if workdir else max(total, 1)
    done, chunks = 0, []
    ckpt = (
        checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"), int(cfg.checkpoint.max_to_keep))
        if workdir
        else None
    )
    try:
        if ckpt is not None and ckpt.latest_step():
            done = int(ckpt.latest_step())
            (params_S, opt_state_S), meta = ckpt.restore(done, (params_S, opt_state_S))
            if meta.get("signature") != signature:
                raise ValueError(f"{workdir} holds the checkpoints of another sweep; use a fresh workdir.")
            # The trace as it was computed: float32 (a float64 copy would round its means differently).
            chunks = [{k: np.asarray(v, bool if k == "finite" else np.float32) for k, v in meta["trace"].items()}]
            log(f"  resumed the sweep at iteration {done} of {total} from {ckpt.directory}")
        compile_s, start = 0.0, time.perf_counter()
        while done < total:
            length = min(every, total - done)
            fn = sweep.chunk(length)
            t0 = time.perf_counter()
            compiled = fn.lower(params_S, opt_state_S, keys_train, heldout_SxNxTxA, done).compile()
            compile_s += time.perf_counter() - t0
            new_params_S, new_opt_state_S, trace = jax.block_until_ready(
                compiled(params_S, opt_state_S, keys_train, heldout_SxNxTxA, done)
            )
            trace = {k: np.asarray(v) for k, v in trace.items()}
            bad = diverged(trace, chunks[0] if chunks else trace, seeds, done, sweep.loss_bound)
            if bad:
                last = ckpt.latest_step() if ckpt is not None else None
                kept = f"the last good checkpoint {last} is kept in {ckpt.directory}" if last else "nothing was saved"
                raise train_loop.TrainingDiverged(
                    f"{bad}; this chunk was not saved; {kept}. {train_loop.DIVERGED_ADVICE if last else ''}".strip()
                )
            params_S, opt_state_S = new_params_S, new_opt_state_S
            chunks.append(trace)
            done += length
            if ckpt is not None:
                joined = {k: np.concatenate([c[k] for c in chunks], axis=1) for k in chunks[0]}
                meta = {"signature": signature, "trace": {k: v.tolist() for k, v in joined.items()}}
                ckpt.save(done, (params_S, opt_state_S), meta)
                if done < total:
                    log(f"  iteration {done} of {total}: checkpoint saved")
    finally:
        if ckpt is not None:
            ckpt.close()
    empty = {k: np.zeros((len(seeds), 0)) for k in TRACE_KEYS}  # num_iterations = 0
    trace = {k: np.concatenate([c[k] for c in chunks], axis=1) for k in chunks[0]} if chunks else empty
    curves_SxNxT = sweep.curves(params_S, heldout_SxNxTxA)
    return params_S, trace, curves_SxNxT, time.perf_counter() - start - compile_s, compile_s


def diverged(trace: dict, first: dict, seeds: Sequence[int], start: int, bound: dict) -> str | None:
    """Why a chunk's trace (S, length) counts as diverged, as the driver decides per iteration
    (`train_loop.loss_out_of_bounds`, the run's first iteration taken from `first`); None when it does not."""
    for i, seed in enumerate(seeds):
        for j in range(trace["finite"].shape[1]):
            where = f"seed {seed}, iteration {start + j + 1}"
            record = {k: float(trace[k][i, j]) for k in ("sft_loss", "sft_loss_first") if k in trace}
            # eval_regret is NaN by design between evaluations (eval.every); params and losses carry the flag.
            if not bool(trace["finite"][i, j]) or np.isinf(trace["eval_regret"][i, j]):
                return f"{where} diverged: NaN or inf (SFT loss {record['sft_loss']:.4g})"
            first_record = (
                {"sft_loss_first": float(first["sft_loss_first"][i, 0])} if "sft_loss_first" in first else record
            )
            why = train_loop.loss_out_of_bounds(record, first_record, bound["divergence_factor"], bound["signed_loss"])
            if why:
                return f"{where} diverged: {why}"
    return None


# The references every seed is graded against (fol_grading.heldout_baselines): prior-free ones and the Bayes limit.
REFERENCES = (*fol_grading.PRIOR_FREE_EXTRA, "bayes")


def run_seeds(
    cfg: Any,
    seeds: Sequence[int],
    log: Callable[[str], None] = print,
    init_params: Any = None,
    workdir: str | None = None,
) -> dict:
    """Train `cfg` for every seed in one compiled program; per-seed and pooled held-out statistics.

    With `workdir` (one per arm), the sweep is checkpointed there and resumes from it (`train_seeds`).

    `init_params` (stacked (S, ...)) replaces the configured model's random initialization (a sanity
    check's known starting point); the training keys stay the seeds'.

    Returns {"seeds", "final": {eval_regret, beta_hat, p_reg: mean_ci95}, "initial", "ftrl"
    (Hedge tuned per seed's held-out set), "ratio_to_tuned_hedge", "per_seed": [...],
    "trace_eval_regret": (I,) mean over seeds, "finite": all seeds finite, "params" (stacked, not JSON)}.
    """
    heldout = heldout_sets(cfg, seeds)
    heldout_SxNxTxA = jnp.stack(heldout)
    given = init_params is not None
    if not given:
        init_params = stack_trees([fol.build_model(cfg, seed=int(s))[1] for s in seeds])
    signature = _signature(cfg, seeds, init_params if given else None)
    sweep = Sweep(cfg)
    params, trace, curves_SxNxT, seconds, compile_s = train_seeds(
        sweep, cfg, seeds, init_params, heldout_SxNxTxA, workdir, log, signature
    )
    evaluate = sweep.evaluate
    per_seed = []
    for i, seed in enumerate(seeds):
        init_curves, _ = evaluate(jax.tree.map(lambda x: x[i], init_params), heldout[i])  # noqa: B023 - called inside this iteration
        base, _ = fol_grading.heldout_baselines(cfg, heldout[i])
        final = fol_grading.curve_stats(curves_SxNxT[i])
        per_seed.append(
            {
                "seed": int(seed),
                "final": final,
                "initial": fol_grading.curve_stats(init_curves),
                "ftrl": {k: base["ftrl"][k] for k in ("eval_regret", "beta_hat", "p_reg", "eta")},
                "ftl": {k: base["ftl"][k] for k in ("eval_regret", "beta_hat", "p_reg")},
                **{name: {"eval_regret": base[name]["eval_regret"]} for name in REFERENCES},
                "finite": bool(np.all(np.asarray(trace["finite"][i]))),
            }
        )
        per_seed[-1]["grade"] = fol_grading.grade({**per_seed[-1], "ftrl_theory": base["ftrl_theory"]})

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
        # NaN where the held-out set was not evaluated (between eval.every iterations), as in metrics.jsonl's gaps.
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
