"""The paper's ablation study as one run: FOL studies, generalization, bandit studies -> results.json, figures.

`run(cfg, workdir)` is `python -m experiments.ablations`; the FOL arms are `fol_study`'s (checkpointed under
workdir/fol), the bandit arms `bandit_study`'s (checkpointed under workdir/bandit), so a
killed study resumes each arm where it stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from rmft_jax import bandit_plots, plotting
from rmft_jax.studies import bandit_study, fol_study
from rmft_jax.training import workdir_files


def check_seeds(seeds: list[int]) -> None:
    """Seeds must be distinct, and at least one."""
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {tuple(seeds)}.")


def run(cfg: Any, workdir: str, log: Callable[[str], None] = print) -> dict:
    """Every configured study over cfg.seeds; writes results.json, ablations.png and bandit_ablations.png."""
    seeds = [int(s) for s in cfg.seeds]
    check_seeds(seeds)
    start = time.perf_counter()
    if cfg.bandit_studies:
        bandit_study.check_seeds(seeds)  # fail before the FOL studies spend their time
    studies = fol_study.run_studies(cfg.fol, tuple(cfg.studies), seeds, cfg.generalization, workdir=workdir)
    verdicts = fol_study.verdicts(studies)
    if cfg.bandit_studies:
        bandit = bandit_study.run_studies(
            {"mab": cfg.mab, "nsmab": cfg.nsmab}, tuple(cfg.bandit_studies), seeds, workdir
        )
        studies["bandit"], verdicts = bandit, {**verdicts, **bandit_study.verdicts(bandit)}
    results = {
        "config": cfg.to_dict(),
        "studies": studies,
        "verdicts": verdicts,
        "seconds": time.perf_counter() - start,
    }
    os.makedirs(workdir, exist_ok=True)
    workdir_files.write_json_atomic(os.path.join(workdir, "results.json"), results, default=list)
    fol_part = {k: v for k, v in studies.items() if k != "bandit"}
    if fol_part:
        plotting.plot_ablations(fol_part, os.path.join(workdir, "ablations.png"))
    if "bandit" in studies:
        bandit_plots.plot_studies(studies["bandit"], os.path.join(workdir, "bandit_ablations.png"))
    for study, line in results["verdicts"].items():
        log(f"{study}: {line}")
    log(f"wrote {workdir}/results.json and figures in {results['seconds']:.0f}s")
    return results
