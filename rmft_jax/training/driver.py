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
import math
import os
import time
from collections.abc import Callable
from typing import Any, Protocol

import jax

from rmft_jax import _checks
from rmft_jax.core.run import Run
from rmft_jax.training import checkpoint, train_loop, workdir_files, workdir_lock

__all__ = ["Experiment", "Parts", "Run", "Trained", "finished", "run", "train"]


class Experiment(Protocol):
    """What a task supplies to the driver. Optional attributes (read with defaults):

    added_defaults: {dotted field: value} of fields added after runs were made (ADDED_FIELD_DEFAULTS).
    ignored_prefixes: fields that may change on a resumed or finished run (end-of-run checks, grading).
    parts(cfg) -> names of the separately checkpointed parts (default: one, unnamed).
    stale(cfg, stored results) -> a reason to re-report a finished run from its final checkpoints, or None.
    """

    def validate(self, cfg: Any) -> None:
        """Raise ValueError (saying what to fix) before anything compiles."""

    def build(self, cfg: Any) -> Run | Parts:
        """The run of a validated config (or its parts)."""


@dataclasses.dataclass
class Trained:
    """A part after training: its run, final params and opt_state, history and compile seconds."""

    run: Run
    params: Any
    opt_state: Any
    history: list
    compile_seconds: float


@dataclasses.dataclass
class Parts:
    """A run made of parts with checkpoints of their own (checkpoints/NAME, metrics_NAME.jsonl), trained in order.

    builds: part name -> a function that builds that part's Run (called when the part's turn comes).
    report: {name: Trained} -> (results dict, write_figures(workdir) or None).
    labels: part name -> the prefix of its progress lines.
    """

    builds: dict[str, Callable[[], Run]]
    report: Callable[[dict[str, Trained]], tuple[dict, Callable[[str], None] | None]]
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


def _single(built: Run) -> Parts:
    """A one-part run: checkpoints/ and metrics.jsonl, reported by its own Run.report."""
    return Parts({"": lambda: built}, lambda t: built.report(built.params, t[""].params, t[""].history))


def checkpoint_dir(workdir: str, part: str) -> str:
    """Where a part keeps its checkpoints."""
    return os.path.join(workdir, "checkpoints", part) if part else os.path.join(workdir, "checkpoints")


def metrics_path(workdir: str, part: str) -> str:
    """Where a part appends its per-iteration metrics."""
    return os.path.join(workdir, f"metrics_{part}.jsonl" if part else "metrics.jsonl")


def newest_steps(workdir: str, parts: tuple[str, ...]) -> dict[str, int]:
    """Each part's newest checkpoint step (0 without one)."""
    steps = {}
    for part in parts:
        ckpt = checkpoint.Checkpointer(checkpoint_dir(workdir, part))
        steps[part] = ckpt.latest_step() or 0
        ckpt.close()
    return steps


def finished(cfg: Any, workdir: str, steps: dict[str, int]) -> bool:
    """True when results.json exists and every part (`newest_steps`) reached rmft.num_iterations."""
    total = int(cfg.rmft.num_iterations)
    return os.path.exists(os.path.join(workdir, "results.json")) and all(s >= total for s in steps.values())


def written_figures(workdir: str, write_figures: Callable[[str], None]) -> list[str]:
    """Call write_figures(workdir) -> the names of the figures (*.png) it wrote, for results.json's "figures"."""
    before = {f: os.stat(os.path.join(workdir, f)).st_mtime_ns for f in os.listdir(workdir) if f.endswith(".png")}
    write_figures(workdir)
    return sorted(
        f
        for f in os.listdir(workdir)
        if f.endswith(".png") and before.get(f) != os.stat(os.path.join(workdir, f)).st_mtime_ns
    )


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
    train_loop.check_history(ckpt.directory, start, history, metrics_path)
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
            **loss_bound(cfg),
        )
    except BaseException:
        # An interrupted run (Ctrl-C, an error) first finishes the pending save of its last checkpoint; a failure of
        # that save must not hide the error that stopped the run.
        ckpt.close(quiet=True)
        raise
    return params, opt_state, history, compile_s


# Paradigms whose loss is signed (policy gradient, regret-loss): bounded by |loss| relative to the run's start.
SIGNED_LOSS_PARADIGMS = ("regret_loss", "policy_gradient")


def loss_bound(cfg: Any) -> dict:
    """train_loop.train's divergence check: sft.divergence_factor (0: off; configs without an sft section: off)."""
    if "sft" not in cfg:
        return {}
    signed = "paradigm" in cfg and cfg.paradigm.name in SIGNED_LOSS_PARADIGMS
    return {"divergence_factor": float(cfg.sft.divergence_factor), "signed_loss": signed}


def non_finite_fields(tree: Any, prefix: str = "") -> list[str]:
    """The dotted names of every float (or float in a list) of a config that is inf or nan."""
    if isinstance(tree, dict):
        return [name for k, v in tree.items() for name in non_finite_fields(v, f"{prefix}{k}.")]
    if isinstance(tree, (list, tuple)):
        return [prefix.rstrip(".")] if any(non_finite_fields(v, prefix) for v in tree) else []
    return [prefix.rstrip(".")] if isinstance(tree, float) and not math.isfinite(tree) else []


def validate_driver_fields(cfg: Any) -> None:
    """The fields the driver itself reads, checked for every task before anything is written or compiled."""
    bad = non_finite_fields(cfg.to_dict())
    if bad:
        raise ValueError(f"config fields must be finite numbers; inf or nan in: {', '.join(bad)}.")
    _checks.check_int("rmft.num_iterations", cfg.rmft.num_iterations, 0)
    _checks.check_int("eval.every", cfg.eval.every, 1)
    _checks.check_int("checkpoint.every", checkpoint_every(cfg), 1)
    _checks.check_int("checkpoint.max_to_keep", cfg.checkpoint.max_to_keep, 1, "the newest checkpoint must be kept")
    if "sft" in cfg:
        _checks.check_finite("sft.divergence_factor", cfg.sft.divergence_factor)
        if cfg.sft.divergence_factor < 0 or 0 < cfg.sft.divergence_factor <= 1:
            raise ValueError(
                f"sft.divergence_factor = {cfg.sft.divergence_factor}: use 0 (no check) or a factor above 1 "
                "(the default, 1e3, stops a run whose loss grows 1000x)."
            )


def check_checkpoints(cfg: Any, workdir: str, steps: dict[str, int]) -> None:
    """Refuse checkpoints (`newest_steps`) the config cannot own: without config.json, or past rmft.num_iterations."""
    if any(steps.values()) and not os.path.exists(os.path.join(workdir, "config.json")):
        raise ValueError(
            f"{workdir} has checkpoints but no config.json, so nothing says which config trained them: restore "
            f"config.json, delete {os.path.join(workdir, 'checkpoints')} to start over, or use a fresh --workdir."
        )
    total = int(cfg.rmft.num_iterations)
    for part, step in steps.items():
        if step > total:
            raise ValueError(
                f"the newest checkpoint in {checkpoint_dir(workdir, part)} is iteration {step}, past "
                f"rmft.num_iterations = {total}: a run cannot be shortened. To report that checkpoint, run with "
                f"--config.rmft.num_iterations={step}; to train {total} iterations, use a fresh --workdir."
            )


def run(cfg: Any, workdir: str, experiment: Experiment, log: Callable[[str], None] = print) -> dict:
    """Train (or resume, or just report a finished run) and return the results dict; one run per workdir."""
    validate_driver_fields(cfg)
    experiment.validate(cfg)
    os.makedirs(workdir, exist_ok=True)
    with workdir_lock.hold(workdir):
        parts = experiment.parts(cfg) if hasattr(experiment, "parts") else ("",)
        steps = newest_steps(workdir, parts)
        check_checkpoints(cfg, workdir, steps)  # before config.json is (re)written
        config_history = workdir_files.check_config(
            cfg,
            workdir,
            getattr(experiment, "added_defaults", None),
            getattr(experiment, "ignored_prefixes", ("attack.",)),
            steps,
        )
        results_path = os.path.join(workdir, "results.json")
        total = int(cfg.rmft.num_iterations)
        if finished(cfg, workdir, steps):
            try:
                stored = workdir_files.load_json(results_path)
            except ValueError as err:  # garbage: the final checkpoints still hold the run
                stored, reason = None, f"{err.args[0].split(';')[0]}"
            else:
                reason = experiment.stale(cfg, stored) if hasattr(experiment, "stale") else None
                missing = [f for f in stored.get("figures", ()) if not os.path.exists(os.path.join(workdir, f))]
                reason = reason or (f"figure {', '.join(missing)} is missing" if missing else None)
            damaged = [d for d in (train_loop.metrics_damage(metrics_path(workdir, p), total) for p in parts) if d]
            if damaged and jax.process_index() == 0:  # derived data: rewritten from the final checkpoints' history
                for part in parts:
                    if os.path.exists(metrics_path(workdir, part)):
                        os.remove(metrics_path(workdir, part))
                reason = "; ".join(damaged + ([reason] if reason else []))
            if reason is None:
                log(f"{workdir} already finished {total} iterations; nothing to do (results in {results_path}).")
                return stored
            # Stale or damaged reporting, not stale training: resume from the final checkpoints (no iteration runs)
            # and report again.
            log(f"{workdir}: {reason}; re-evaluating the finished run from its final checkpoints.")
        built = experiment.build(cfg)
        built = _single(built) if isinstance(built, Run) else built
        trained = {}
        for part, make in built.builds.items():
            ckpt = checkpoint.Checkpointer(checkpoint_dir(workdir, part), int(cfg.checkpoint.max_to_keep))
            try:
                part_run = make()
                params, opt_state, history, compile_s = train(
                    part_run, cfg, ckpt, log, metrics_path(workdir, part), built.labels.get(part, "")
                )
            finally:
                ckpt.close()  # pending saves finish whatever happens (a second close does nothing)
            trained[part] = Trained(part_run, params, opt_state, history, compile_s)
        results, write_figures = built.report(trained)
        final = {part: t.history[-1]["iteration"] if t.history else 0 for part, t in trained.items()}
        results["checkpoint_step"] = final[""] if set(final) == {""} else final  # the step the numbers describe
        if len(config_history) > 1:  # a resumed segment ran with another learning rate: which config ran which steps
            results["config_history"] = config_history
        results.update(
            compile_seconds=float(sum(t.compile_seconds for t in trained.values())),
            train_seconds=float(sum(r["seconds"] for t in trained.values() for r in t.history)),
        )
        if jax.process_index() == 0:  # one writer when several hosts share the workdir
            if write_figures is not None:  # first: results.json marks a finished run, so a failed figure is redone
                results["figures"] = written_figures(workdir, write_figures)
            workdir_files.write_json_atomic(results_path, results)
        return results
