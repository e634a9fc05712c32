"""Orbax checkpoints of a run: the train state pytree plus a JSON record, saved together per step."""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be restored (corrupted, or written by a different config)."""


class Checkpointer:
    """Thin wrapper over `ocp.CheckpointManager`: save/restore (state, meta) at integer steps."""

    def __init__(self, directory: str, max_to_keep: int = 2):
        """Open (or create) the checkpoint directory."""
        self.directory = os.path.abspath(directory)
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        """The newest complete checkpoint's step, or None."""
        return self._manager.latest_step()

    def save(self, step: int, state: Any, meta: dict) -> None:
        """Save `state` (a pytree of arrays) and `meta` (JSON-serializable) as checkpoint `step`."""
        args = ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta))
        self._manager.save(step, args=args)

    def restore(self, step: int, like: Any) -> tuple[Any, dict]:
        """Restore checkpoint `step` into the structure of `like`; CheckpointError if it is unreadable."""
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
        args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore())
        try:
            restored = self._manager.restore(step, args=args)
        except Exception as err:  # orbax raises many types; all mean the same thing to the user
            reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
            raise CheckpointError(
                f"checkpoint {step} in {self.directory} cannot be restored ({type(err).__name__}: {reason}). "
                f"It may be corrupted or come from a different model config: delete "
                f"{os.path.join(self.directory, str(step))} to resume from an earlier checkpoint, "
                f"or use a fresh --workdir."
            ) from None
        return restored.state, restored.meta

    def wait(self) -> None:
        """Block until pending asynchronous saves are on disk."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Finish pending saves and release the manager (a second call does nothing)."""
        if self._manager is None:
            return
        self._manager.wait_until_finished()
        self._manager.close()
        self._manager = None
