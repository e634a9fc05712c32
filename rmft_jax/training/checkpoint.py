"""Orbax checkpoints of a run: the train state pytree plus a JSON record, saved together per step."""

from __future__ import annotations

import errno
import os
from typing import Any

import jax
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be restored (corrupted, or written by a different config)."""


class CheckpointSaveError(RuntimeError):
    """A checkpoint could not be written (disk full, a directory made read-only): training stops at once."""


def _reason(err: BaseException) -> str:
    """The first line of an exception, with its type; a full disk is named as such (orbax's storage layer reports it
    as RESOURCE_EXHAUSTED with long paths, where the words "No space left" may fall past the cut)."""
    if getattr(err, "errno", None) == errno.ENOSPC or "No space left" in str(err):
        return "no space left on device"
    text = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class Checkpointer:
    """Thin wrapper over `ocp.CheckpointManager`: save/restore (state, meta) at integer steps."""

    def __init__(self, directory: str, max_to_keep: int = 2):
        """Open (or create) the checkpoint directory."""
        self.directory = os.path.abspath(directory)
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options)
        self._failed = False

    def latest_step(self) -> int | None:
        """The newest complete checkpoint's step, or None."""
        return self._manager.latest_step()

    def save(self, step: int, state: Any, meta: dict) -> None:
        """Save `state` (a pytree of arrays) and `meta` (JSON-serializable) as checkpoint `step`."""
        args = ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta))
        try:
            self._manager.save(step, args=args)  # raises a failure of the previous asynchronous save, too
        except Exception as err:
            raise self._save_error(err) from None

    def check(self) -> None:
        """Raise CheckpointSaveError if an asynchronous save failed in the background (cheap; once per iteration)."""
        try:
            self._manager.check_for_errors()
        except Exception as err:
            raise self._save_error(err) from None

    def _save_error(self, err: BaseException, manager: Any = None) -> CheckpointSaveError:
        """The one-line error of a failed save, naming the directory and the last checkpoint that is whole."""
        self._failed = True
        try:
            last = (manager or self._manager).latest_step()
        except Exception:
            last = None
        kept = f"checkpoint {last} is the last whole one" if last else "no checkpoint is whole yet"
        return CheckpointSaveError(
            f"saving a checkpoint in {self.directory} failed ({_reason(err)}); training stopped and {kept}. "
            f"Make the directory writable (free disk space), then rerun the same command to resume."
        )

    def restore(self, step: int, like: Any) -> tuple[Any, dict]:
        """Restore checkpoint `step` into the structure of `like`; CheckpointError if it is unreadable."""
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
        args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore())
        try:
            restored = self._manager.restore(step, args=args)
        except Exception as err:  # orbax raises many types; all mean the same thing to the user
            raise CheckpointError(
                f"checkpoint {step} in {self.directory} cannot be restored ({_reason(err)}). "
                f"It may be corrupted or come from a different model config: delete "
                f"{os.path.join(self.directory, str(step))} to resume from an earlier checkpoint, "
                f"or use a fresh --workdir."
            ) from None
        return restored.state, restored.meta

    def wait(self) -> None:
        """Block until pending asynchronous saves are on disk (CheckpointSaveError if one failed)."""
        try:
            self._manager.wait_until_finished()
        except Exception as err:
            raise self._save_error(err) from None

    def close(self, quiet: bool = False) -> None:
        """Finish pending saves and release the manager (a second call does nothing).

        A failed pending save raises CheckpointSaveError, unless `quiet` (closing on the way out of another error)
        or a failure was already reported.
        """
        if self._manager is None:
            return
        manager, self._manager = self._manager, None
        try:
            manager.wait_until_finished()
        except Exception as err:
            if not (quiet or self._failed):
                raise self._save_error(err, manager) from None
        finally:
            try:
                manager.close()
            except Exception:
                pass  # the failure, if any, is reported above; closing must not hide it
