"""The paradigm comparison as one run: FOL arms (`paradigm_study`), bandit arms (`bandit_study`) -> paradigms.json.

`run(cfg, workdir, fixed_point_fits)` is `python -m experiments.paradigms`. The theory's fit of the stochastic
setting's models (`theory.paradigm_fixed_point.fits`, a layer above) comes in as an argument. The FOL half is
written as soon as it is done, so it is kept if the bandit half stops; each bandit arm checkpoints under
workdir/bandit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from rmft_jax import plotting
from rmft_jax.studies import bandit_study, paradigm_study
from rmft_jax.training import workdir_files, workdir_lock


def run(
    cfg: Any, workdir: str, fixed_point_fits: Callable[[Any, dict, list], dict], log: Callable[[str], None] = print
) -> dict:
    """Every (setting, paradigm) over cfg.seeds; writes paradigms.json and paradigms.png; the output dict."""
    os.makedirs(workdir, exist_ok=True)
    start = time.perf_counter()
    seeds = [int(s) for s in cfg.seeds]
    path = os.path.join(workdir, "paradigms.json")
    # Bandit configs fail here, before the FOL half trains.
    bandit_study.validate_studies({"mab": cfg.mab, "nsmab": cfg.nsmab}, tuple(cfg.bandit_studies), seeds)
    with workdir_lock.hold(workdir):
        results, params = paradigm_study.run(cfg.fol, cfg.study, seeds, workdir=workdir)
        out = {
            "config": cfg.to_dict(),
            "results": results,
            "fixed_point": fixed_point_fits(cfg.fol, params, seeds),
            "verdicts": paradigm_study.verdicts(results),
            "fol_seconds": time.perf_counter() - start,
        }
        workdir_files.write_json_atomic(path, out)  # the FOL half is kept if the bandit half stops
        if cfg.bandit_studies:  # resumable: each arm checkpoints under WORKDIR/bandit
            bandit_start = time.perf_counter()
            out["bandit"] = bandit_study.run_studies(
                {"mab": cfg.mab, "nsmab": cfg.nsmab}, tuple(cfg.bandit_studies), seeds, workdir
            )
            out["bandit_verdicts"] = bandit_study.verdicts(out["bandit"])
            out["bandit_seconds"] = time.perf_counter() - bandit_start
        out["seconds"] = time.perf_counter() - start
        workdir_files.write_json_atomic(path, out)
    plotting.plot_paradigms(paradigm_study.summary_rows(results), os.path.join(workdir, "paradigms.png"))
    for name, line in {**out["verdicts"], **out.get("bandit_verdicts", {})}.items():
        log(f"{name}: {line}")
    log(f"wrote {workdir}/paradigms.json and paradigms.png in {out['seconds']:.0f}s")
    return out
