"""A workdir's files that later runs read: config.json (checked on resume) and atomic writes.

Every file a later run reads is written to a temporary file next to it, flushed to disk, then
renamed over it: a run killed while writing leaves the previous file or none, never a truncated one.
"""

from __future__ import annotations

import json
import os
from typing import Any

import ml_collections

# Fields that may change between a run and its resumption (more iterations, other eval or checkpoint
# cadence, another device count: sharding changes where the numbers are computed, not what is trained; the memory
# the size check allows).
RESUMABLE_FIELDS = (
    "rmft.num_iterations",
    "eval.every",
    "parallel.data_axis_size",
    "checkpoint.every",
    "memory_limit_gb",
)
# Fields that change what is trained but may change on resume, so that a diverged run can go on from its last good
# checkpoint with a lower learning rate. Each change is a new segment of config_history.json, which results.json
# quotes: no iteration is reported under a config it did not run with. (sft.grad_clip is not here: turning the
# clip on or off changes the optimizer state's structure, so the checkpoint cannot be restored into it.)
SEGMENT_FIELDS = ("sft.learning_rate", "sft.divergence_factor")


def write_text_atomic(path: str, text: str) -> None:
    """Write `text` to a temporary file next to `path`, fsync, then rename: readers see the old file or the new."""
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # disk full, interrupted: leave no temporary file behind
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json_atomic(path: str, obj: Any, default: Any = None) -> None:
    """`write_text_atomic` of `obj` as indented JSON (`default` as in json.dumps)."""
    write_text_atomic(path, json.dumps(obj, indent=2, default=default))


def _flatten(d: dict, prefix: str = "") -> dict:
    """{'a': {'b': 1}} -> {'a.b': 1}."""
    out = {}
    for k, v in d.items():
        name = f"{prefix}{k}"
        out.update(_flatten(v, name + ".") if isinstance(v, dict) else {name: v})
    return out


def check_config(
    cfg: Any,
    workdir: str,
    added_defaults: dict | None = None,
    ignored_prefixes: tuple = ("attack.",),
    steps: dict[str, int] | None = None,
) -> list[dict]:
    """Write config.json on the first run; on a resumed run refuse a config that changed what was trained.

    `added_defaults` holds fields added after runs were made: a saved config without them trained
    with these values. Fields under `ignored_prefixes` (end-of-run checks) may change freely; SEGMENT_FIELDS may
    change and start a new segment of config_history.json at the checkpoint steps `steps` ({part: step}).
    Returns the config history: [{"after_iteration": step (or {part: step}), field: value, ...}, ...].
    """
    path = os.path.join(workdir, "config.json")
    current = _flatten(json.loads(cfg.to_json()))
    here = {k: current[k] for k in SEGMENT_FIELDS if k in current}
    at = steps or {"": 0}
    at = at[""] if set(at) == {""} else dict(at)
    history_path = os.path.join(workdir, "config_history.json")
    if os.path.exists(path):
        saved = _flatten(load_json(path, CONFIG_ADVICE))
        saved = {**{k: v for k, v in (added_defaults or {}).items() if k in current}, **saved}
        changed = sorted(
            k
            for k in set(saved) | set(current)
            if k not in RESUMABLE_FIELDS + SEGMENT_FIELDS
            and not k.startswith(ignored_prefixes)
            and saved.get(k) != current.get(k)
        )
        if changed:
            raise ValueError(
                f"{workdir} holds a run with a different config (changed: {', '.join(changed)}); "
                f"use a fresh --workdir or the same config (only {', '.join(SEGMENT_FIELDS)} and "
                f"{', '.join(RESUMABLE_FIELDS)} may change on resume)."
            )
        if os.path.exists(history_path):
            history = load_json(history_path, HISTORY_ADVICE)
        else:  # a workdir from before the history: one segment, the saved config's
            history = [{"after_iteration": 0, **{k: saved[k] for k in SEGMENT_FIELDS if k in saved}}]
        last = {k: v for k, v in history[-1].items() if k != "after_iteration"}
        if last != here:  # a new segment; one that ran no iteration is replaced, not kept
            kept = history[:-1] if history[-1]["after_iteration"] == at else history
            history = [*kept, {"after_iteration": at, **here}]
    else:
        history = [{"after_iteration": 0, **here}]
    write_json_atomic(history_path, history)
    write_json_atomic(path, json.loads(cfg.to_json()))
    return history


def load_config(workdir: str) -> ml_collections.ConfigDict:
    """The config a workdir was trained with."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: {workdir} is not a finished or running RMFT workdir.")
    return ml_collections.ConfigDict(load_json(path, CONFIG_ADVICE))


# What to do about a damaged config.json: it is what identifies the run its checkpoints belong to.
CONFIG_ADVICE = "it names the config the checkpoints belong to: restore it, or use a fresh --workdir."
HISTORY_ADVICE = "it records which learning rate trained which iterations: restore it, or use a fresh --workdir."
RESULTS_ADVICE = "delete it and rerun: the run is re-reported from its checkpoints."


def load_json(path: str, advice: str = RESULTS_ADVICE) -> Any:
    """A JSON file a run wrote; ValueError naming the file and `advice` when it is not valid JSON."""
    with open(path) as fh:
        text = fh.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); {advice}"
        ) from None
