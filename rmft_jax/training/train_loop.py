"""The outer loop shared by every RMFT driver: resume, iterate, evaluate, checkpoint, stop on NaN.

Python only drives the loop; each iteration is one compiled call `iteration(params, opt_state, key)
-> (params, opt_state, metrics)` whose metrics hold a scalar "finite" flag. A checkpoint is saved
every `checkpoint_every` iterations and after the last. Re-running with the same checkpoint
directory resumes from its newest step and ends with the numbers an uninterrupted run would give
(iteration it always uses fold_in(key_train, it)).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from rmft_jax.training import checkpoint, workdir_files


class TrainingDiverged(RuntimeError):
    """A NaN or inf, or a loss out of bounds, appeared in training; the last good checkpoint is kept."""


# Below this scale a loss counts as zero for the divergence check (a near-deterministic imitation target has a
# cross-entropy near 0, and growing 1000x from 1e-6 is not divergence).
LOSS_FLOOR = 1e-2
# What a diverged run may do next in the same workdir (workdir_files.RESUMABLE_FIELDS, recorded in config_history).
DIVERGED_ADVICE = (
    "Rerun the same command with a lower --config.sft.learning_rate: it resumes from that checkpoint and the change "
    "is recorded in config_history.json and results.json (or set sft.grad_clip in a fresh --workdir)."
)


def loss_out_of_bounds(record: dict, first: dict, factor: float, signed: bool) -> str | None:
    """Why an iteration's loss counts as diverged (None: it does not); `factor` 0 turns the check off.

    A cross-entropy (>= 0) diverges when its last step exceeds `factor` x the iteration's first step; a signed loss
    (policy gradient, regret-loss) when |last| exceeds `factor` x |the run's first iteration's first step| (`first`).
    Scales below LOSS_FLOOR count as LOSS_FLOOR.
    """
    if not factor or "sft_loss_first" not in record:
        return None
    loss = record["sft_loss"]
    if signed:
        scale, what = abs(first["sft_loss_first"]), "|loss| of the run's first step"
        loss = abs(loss)
    else:
        scale, what = record["sft_loss_first"], "loss of the iteration's first step"
    if loss > factor * max(scale, LOSS_FLOOR):
        return f"loss {loss:.4g} > sft.divergence_factor {factor:g} x the {what} ({scale:.4g})"
    return None


def log_line(record: dict, total: int, eta_s: float) -> str:
    """One progress line per iteration."""
    line = (
        f"iter {record['iteration']:>4}/{total} | rollout regret {record['rollout_regret']:7.3f} | "
        f"sft loss {record['sft_loss']:.4f}"
    )
    if record.get("eval_regret") is not None:
        line += f" | held-out regret {record['eval_regret']:7.3f}"
    if record.get("beta_hat") is not None:
        line += f" beta-hat {record['beta_hat']:.3f}"
    if record.get("eta_hat") is not None:  # the theory study's snapshot
        line += f" eta-hat {record['eta_hat']:.3f} TV {record['tv_distance']:.4f}"
    if record.get("suff_fail_freq") is not None:
        line += f" SuffFail(T/2) {record['suff_fail_freq']:.3f}"
    return line + f" | {record['seconds']:.2f}s | ETA {eta_s:.0f}s"


def restore(
    ckpt: checkpoint.Checkpointer, params: Any, opt_state: Any, log: Callable[[str], None]
) -> tuple[int, Any, Any, list]:
    """(start step, params, opt_state, history) from the newest checkpoint, or the given state at step 0."""
    start = ckpt.latest_step() or 0
    if not start:
        return 0, params, opt_state, []
    (params, opt_state), meta = ckpt.restore(start, (params, opt_state))
    log(f"resumed from checkpoint {start} in {ckpt.directory}")
    return start, params, opt_state, meta["history"]


def _canonical(record: dict) -> str:
    """A record as sorted JSON text (NaN == NaN, unlike dict equality)."""
    return json.dumps(record, sort_keys=True)


def check_history(directory: str, start: int, history: list, metrics_path: str | None) -> None:
    """Refuse a checkpoint whose history record is not iterations 1..start, or that disagrees with metrics.jsonl.

    metrics.jsonl may lag the checkpoint by a line (a run killed between the save and the append) or end in a torn
    line; every record it holds for iterations 1..start must equal the checkpoint's, and every line but the last must
    be whole JSON. CheckpointError names the files and how to go on.
    """
    fix = f"delete {os.path.join(directory, str(start))} to resume from an earlier checkpoint, or use a fresh --workdir"
    if [r.get("iteration") for r in history] != list(range(1, start + 1)):
        raise checkpoint.CheckpointError(
            f"checkpoint {start} in {directory} has a history record of iterations "
            f"{[r.get('iteration') for r in history][:5]}..., not 1..{start}: it was edited or damaged; {fix}."
        )
    if not metrics_path or not os.path.exists(metrics_path):
        return
    with open(metrics_path) as fh:
        lines = fh.read().splitlines()
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break  # a line torn by a crash: the record was not checkpointed either
            raise checkpoint.CheckpointError(
                f"{metrics_path} line {number} is not JSON; the checkpoint {start} in {directory} holds the run's "
                f"history: delete {metrics_path} (it is rewritten from the checkpoint) and rerun."
            ) from None
        it = record.get("iteration") if isinstance(record, dict) else None
        if isinstance(it, int) and 1 <= it <= start and _canonical(history[it - 1]) != _canonical(record):
            raise checkpoint.CheckpointError(
                f"{metrics_path} and the history record of checkpoint {start} in {directory} disagree at iteration "
                f"{it}: one of them was edited. If the checkpoint is right, delete {metrics_path} and rerun; "
                f"otherwise {fix}."
            )


def metrics_damage(path: str, total: int) -> str | None:
    """Why a finished part's metrics file is not its iterations 1..total as whole JSON lines (None: it is)."""
    if not os.path.exists(path):
        return f"{path} is missing"
    try:
        with open(path) as fh:
            iterations = [json.loads(line).get("iteration") for line in fh]
    except (ValueError, AttributeError):
        return f"{path} is damaged"
    return None if iterations == list(range(1, total + 1)) else f"{path} does not hold iterations 1..{total}"


def train(
    iteration: Callable,
    evaluate: Callable[[Any], dict],
    state: tuple,
    key_train: jax.Array,
    total: int,
    eval_every: int,
    ckpt: checkpoint.Checkpointer,
    log: Callable[[str], None],
    start: int = 0,
    history: list | None = None,
    metrics_path: str | None = None,
    checkpoint_every: int = 1,
    divergence_factor: float = 0.0,
    signed_loss: bool = False,
) -> tuple[Any, Any, list]:
    """Run iterations start+1..total; `evaluate(params)` -> dict of floats with 'eval_regret'.

    A checkpoint (state and history) is saved after every `checkpoint_every`-th iteration and after the last.
    With `metrics_path`, each iteration's record is appended there as one JSON line as the run goes
    (the file restarts from the checkpointed history on resume). Raises TrainingDiverged (closing
    `ckpt`) on a non-finite iteration or a loss out of bounds (`loss_out_of_bounds`), without saving it; its record
    is still appended, marked finite false. A checkpoint save that failed in the background stops the loop at the
    next iteration (checkpoint.CheckpointSaveError).
    """
    params, opt_state = state
    history = list(history or [])
    if metrics_path:
        write_metrics(metrics_path, history)
    for it in range(start, total):
        ckpt.check()  # a save that failed in the background stops training now, not at the next save
        t_it = time.perf_counter()
        new_params, new_opt_state, metrics = iteration(params, opt_state, jax.random.fold_in(key_train, it))
        metrics = jax.device_get(metrics)
        record = {k: float(np.mean(v)) for k, v in metrics.items() if k != "finite"}
        if (it + 1) % int(eval_every) == 0 or it + 1 == total:
            record.update(evaluate(new_params))
        bad = None
        if not bool(np.all(metrics["finite"])) or not np.isfinite(record.get("eval_regret", 0.0)):
            bad = f"NaN or inf (SFT loss {record['sft_loss']})"
        else:
            bad = loss_out_of_bounds(record, history[0] if history else record, divergence_factor, signed_loss)
        if bad:
            if metrics_path:
                append_metrics(metrics_path, {"iteration": it + 1, **record, "finite": False})
            ckpt.wait()  # the last good checkpoint's asynchronous save completes first
            last = ckpt.latest_step()
            ckpt.close()
            kept = (
                f"the last good checkpoint {last} is kept in {ckpt.directory}" if last else "no checkpoint exists yet"
            )
            advice = DIVERGED_ADVICE if last else "Lower --config.sft.learning_rate and rerun."
            raise TrainingDiverged(f"iteration {it + 1} diverged: {bad}; stopped without saving it; {kept}. {advice}")
        record = {"iteration": it + 1, **record, "seconds": time.perf_counter() - t_it}
        history.append(record)
        params, opt_state = new_params, new_opt_state
        if (it + 1) % int(checkpoint_every) == 0 or it + 1 == total:
            # A copy: orbax writes the record asynchronously, while the loop goes on appending to `history`.
            ckpt.save(it + 1, (params, opt_state), {"history": [dict(r) for r in history]})
        if metrics_path:
            append_metrics(metrics_path, record)
        mean_s = np.mean([r["seconds"] for r in history[-10:]])
        log(log_line(record, total, mean_s * (total - it - 1)))
    return params, opt_state, history


def write_metrics(path: str, records: list) -> None:
    """Start `path` afresh with these records, one JSON line each (atomically)."""
    workdir_files.write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in records))


def append_metrics(path: str, record: dict) -> None:
    """Append one record as a JSON line and flush it, so a running or crashed job can be inspected."""
    line = json.dumps(record) + "\n"
    with open(path, "a") as fh:
        end = fh.tell()
        try:
            fh.write(line)
            fh.flush()
        except OSError:  # disk full mid-line: cut the torn line off, so the file holds whole records only
            fh.truncate(end)
            raise
