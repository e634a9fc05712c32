"""The outer loop shared by every RMFT driver: resume, iterate, evaluate, checkpoint, stop on NaN.

Python only drives the loop; each iteration is one compiled call `iteration(params, opt_state, key)
-> (params, opt_state, metrics)` whose metrics hold a scalar "finite" flag. A checkpoint is saved
every `checkpoint_every` iterations and after the last. Re-running with the same checkpoint
directory resumes from its newest step and ends with the numbers an uninterrupted run would give
(iteration it always uses fold_in(key_train, it)).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from rmft_jax.training import checkpoint, workdir_files


class TrainingDiverged(RuntimeError):
    """A NaN or inf appeared in training; the last good checkpoint is kept."""


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
) -> tuple[Any, Any, list]:
    """Run iterations start+1..total; `evaluate(params)` -> dict of floats with 'eval_regret'.

    A checkpoint (state and history) is saved after every `checkpoint_every`-th iteration and after the last.
    With `metrics_path`, each iteration's record is appended there as one JSON line as the run goes
    (the file restarts from the checkpointed history on resume). Raises TrainingDiverged (closing
    `ckpt`) on a non-finite iteration, without saving it; its record is still appended, marked finite false.
    """
    params, opt_state = state
    history = list(history or [])
    if metrics_path:
        write_metrics(metrics_path, history)
    for it in range(start, total):
        t_it = time.perf_counter()
        new_params, new_opt_state, metrics = iteration(params, opt_state, jax.random.fold_in(key_train, it))
        metrics = jax.device_get(metrics)
        record = {k: float(np.mean(v)) for k, v in metrics.items() if k != "finite"}
        if (it + 1) % int(eval_every) == 0 or it + 1 == total:
            record.update(evaluate(new_params))
        if not bool(np.all(metrics["finite"])) or not np.isfinite(record.get("eval_regret", 0.0)):
            if metrics_path:
                append_metrics(metrics_path, {"iteration": it + 1, **record, "finite": False})
            ckpt.wait()  # the last good checkpoint's asynchronous save completes first
            last = ckpt.latest_step()
            ckpt.close()
            kept = f"checkpoint {last} is kept in {ckpt.directory}" if last else "no checkpoint had been saved yet"
            raise TrainingDiverged(
                f"NaN or inf in iteration {it + 1} (SFT loss {record['sft_loss']}); stopped without saving it; "
                f"the last good {kept}. Lower sft.learning_rate or set sft.grad_clip, then rerun."
            )
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
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
