"""The RMFT driver for any task: validate, take the workdir, resume, compile, iterate, evaluate, write.

    run(cfg, workdir, experiment) ->  validate -> lock workdir -> config.json check -> (finished? report)
      -> experiment.build(cfg) -> restore newest checkpoint -> compile -> train_loop.train
      -> experiment's report -> results.json (atomic) and figures

An `Experiment` supplies what differs between tasks: config validation and `build(cfg) -> Run`, the
compiled-once iteration (`rmft_jax.core.loop.make_iteration` on the task), its held-out evaluation
and its report. Python only drives; a killed run resumes and ends with the numbers of an
uninterrupted one (see `train_loop`). One writer per workdir (`workdir_lock`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

import jax
from absl import logging

from rmft_jax.training import checkpoint, train_loop, workdir_files, workdir_lock


@dataclasses.dataclass
class Run:
    """A task's run, built from a validated config: what the driver iterates and how it reports.

    iteration: jitted iteration(params, opt_state, key) -> (params, opt_state, metrics with 'finite').
    evaluate: params -> dict of floats with 'eval_regret' (held-out), every eval.every iterations.
    report: (initial params, final params, history) -> (results dict, write_figures(workdir) or None).
    place: puts restored (params, opt_state) where the iteration expects them (a device mesh).
    """

    iteration: Callable
    params: Any
    opt_state: Any
    key_train: jax.Array
    evaluate: Callable[[Any], dict]
    report: Callable[[Any, Any, list], tuple[dict, Callable[[str], None] | None]] | None = None
    place: Callable[[Any], Any] = lambda tree: tree


class Experiment(Protocol):
    """What a task supplies to the driver."""

    def validate(self, cfg: Any) -> None:
        """Raise ValueError (saying what to fix) before anything compiles."""

    def build(self, cfg: Any) -> Run:
        """The run of a validated config."""


def checkpoint_every(cfg: Any) -> int:
    """The checkpoint cadence of a config (cfg.checkpoint.every; every iteration in configs without it)."""
    return int(cfg.get("checkpoint", {}).get("every", 1))


def train(
    run: Run,
    cfg: Any,
    ckpt: checkpoint.Checkpointer,
    log: Callable[[str], None],
    metrics_path: str | None,
    label: str = "",
) -> tuple[Any, Any, list, float]:
    """Restore, compile once, iterate to cfg.rmft.num_iterations -> (params, opt_state, history, compile seconds)."""
    start, params, opt_state, history = train_loop.restore(ckpt, run.params, run.opt_state, log)
    params, opt_state = run.place((params, opt_state))
    total = int(cfg.rmft.num_iterations)
    t0 = time.perf_counter()
    iteration = run.iteration.lower(params, opt_state, run.key_train).compile()
    compile_s = time.perf_counter() - t0
    log(f"{label}compiled in {compile_s:.1f}s; training iterations {start + 1}..{total}")
    try:
        params, opt_state, history = train_loop.train(
            iteration,
            run.evaluate,
            (params, opt_state),
            run.key_train,
            total,
            int(cfg.eval.every),
            ckpt,
            log,
            start,
            history,
            metrics_path=metrics_path if jax.process_index() == 0 else None,
            checkpoint_every=checkpoint_every(cfg),
        )
    except BaseException:
        ckpt.close()  # an interrupted run (Ctrl-C, an error) first finishes the pending save of its last checkpoint
        raise
    return params, opt_state, history, compile_s


def run(
    cfg: Any,
    workdir: str,
    experiment: Experiment,
    log: Callable[[str], None] = print,
    added_defaults: dict | None = None,
) -> dict:
    """Train (or resume, or just report a finished run) and return the results dict; one run per workdir."""
    experiment.validate(cfg)
    os.makedirs(workdir, exist_ok=True)
    with workdir_lock.hold(workdir):
        workdir_files.check_config(cfg, workdir, added_defaults)
        results_path = os.path.join(workdir, "results.json")
        ckpt = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints"), int(cfg.checkpoint.max_to_keep))
        total = int(cfg.rmft.num_iterations)
        if (ckpt.latest_step() or 0) >= total and os.path.exists(results_path):
            log(f"{workdir} already finished {total} iterations; nothing to do (results in {results_path}).")
            ckpt.close()
            return workdir_files.load_json(results_path)
        try:
            built = experiment.build(cfg)
            params, opt_state, history, compile_s = train(built, cfg, ckpt, log, os.path.join(workdir, "metrics.jsonl"))
            results, write_figures = built.report(built.params, params, history)
        finally:
            ckpt.close()  # pending saves finish whatever happens (a second close does nothing)
        results.update(compile_seconds=compile_s, train_seconds=float(sum(r["seconds"] for r in history)))
        if jax.process_index() == 0:  # one writer when several hosts share the workdir
            workdir_files.write_json_atomic(results_path, results)
            if write_figures is not None:
                write_figures(workdir)
        return results


def cli_run(cfg: Any, workdir: str, run_fn: Callable[[Any, str], Any]) -> None:
    """Command-line wrapper of a driver: bad input, a broken checkpoint, a NaN or a busy workdir exits with one line."""
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    try:
        run_fn(cfg, workdir)
    except (
        ValueError,
        FileNotFoundError,
        checkpoint.CheckpointError,
        train_loop.TrainingDiverged,
        workdir_lock.WorkdirBusy,
    ) as err:
        sys.exit(f"error: {err}")
