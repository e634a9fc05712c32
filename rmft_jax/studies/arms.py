"""One study runner for FOL and bandit arms: each distinct arm config trains once, in a workdir of its own.

A study is a list of arms (a name and a config); arms of different studies with the same config share one
training run (`ArmRunner.train`). With a workdir, each arm trains in WORKDIR/SUBDIR/ARM_TAG, checkpointed, so a
killed study resumes its arms where they stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any


def signature(cfg: Any) -> str:
    """An arm's identity: its whole config, as sorted JSON."""
    return json.dumps(cfg.to_dict(), sort_keys=True, default=str)


def arm_tag(cfg: Any) -> str:
    """The arm directory's hash: its config without eval.references, which grade a run but do not train it."""
    training = cfg.to_dict()
    training["eval"] = {k: v for k, v in training["eval"].items() if k != "references"}
    return hashlib.sha1(json.dumps(training, sort_keys=True, default=str).encode()).hexdigest()[:8]


class ArmRunner:
    """Trains each distinct arm config once; `train(cfg, arm_dir)` returns its results (arm_dir None: no workdir)."""

    def __init__(self, train: Callable[[Any, str | None], Any], workdir: str | None, log: Callable[[str], None]):
        self._train, self.workdir, self.log = train, workdir, log
        self._done: dict[str, Any] = {}

    def arm_dir(self, cfg: Any, name: str) -> str | None:
        """Where the arm `name` of this config trains (None without a workdir)."""
        return None if self.workdir is None else os.path.join(self.workdir, f"{name}_{arm_tag(cfg)}")

    def train(self, cfg: Any, name: str) -> Any:
        """The arm's results: trained now, or reused from an arm of the same config."""
        key = signature(cfg)
        if key in self._done:
            self.log(f"  arm {name}: same config as an arm already trained; reused")
        else:
            where = self.arm_dir(cfg, name)
            self.log(f"  arm {name}: training" + (f" in {where}" if where else ""))
            self._done[key] = self._train(cfg, where)
        return self._done[key]
