"""One entry for every training run: the config's `task` picks the experiment, `driver.run` does the rest.

    run(cfg, workdir) -> EXPERIMENTS[cfg.task](log) -> driver.run: validate, lock, resume, iterate, checkpoint,
                         evaluate, write results.json and figures

A new task adds its experiment class here (one line) and a config with its `task` name (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ml_collections

from rmft_jax import _checks
from rmft_jax.tasks import settings, shortest_path
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import bandit_train, driver, fol_train, workdir_files

EXPERIMENTS: dict[str, Callable[..., driver.Experiment]] = {
    "fol": fol_train.FOLExperiment,
    "mab": bandit_train.BanditExperiment,
    "nsmab": bandit_train.BanditExperiment,
    "shortest_path": shortest_path.Experiment,
}


def task_of(cfg: Any) -> str:
    """The config's task; configs saved before FOL configs had the field are FOL (fol.ADDED_FIELD_DEFAULTS)."""
    return cfg.get("task", fol.ADDED_FIELD_DEFAULTS["task"])


def load_config(workdir: str) -> ml_collections.ConfigDict:
    """The config a workdir trained with, each field added since then set to the value it trained with."""
    cfg = workdir_files.load_config(workdir)
    task = task_of(cfg)
    _checks.check_choice(f"task (in {workdir}/config.json)", task, EXPERIMENTS)
    return settings.fill_added(cfg, getattr(EXPERIMENTS[task], "added_defaults", None) or {})


def run(cfg: Any, workdir: str, log: Callable[[str], None] = print) -> dict:
    """Train (or resume, or report a finished run of) any task's config in workdir; the results dict."""
    task = task_of(cfg)
    _checks.check_choice("task", task, EXPERIMENTS)
    return driver.run(cfg, workdir, EXPERIMENTS[task](log), log)
