"""The paper's study: python -m experiments.ablations --config=experiments/configs/ablations.py --workdir=DIR."""

import os
import sys
import time

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import distributed  # --compile_cache and multi-host flags
from rmft_jax import bandit_plots, plotting
from rmft_jax.studies import bandit_study, fol_study
from rmft_jax.training import workdir_files

_CONFIG = config_flags.DEFINE_config_file(
    "config", "experiments/configs/ablations.py", "Config file, optionally FILE:VARIANT.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", "runs/ablations", "results.json and figures go here.")


def main(argv):
    """Entry point: flags -> every study -> results.json, ablations.png, bandit_ablations.png."""
    del argv
    distributed.maybe_initialize()
    logging.set_verbosity(logging.WARNING)
    cfg, workdir = _CONFIG.value, _WORKDIR.value
    seeds = [int(s) for s in cfg.seeds]
    if len(seeds) < 1 or len(set(seeds)) != len(seeds):
        sys.exit(f"error: seeds must be distinct and at least one, got {tuple(cfg.seeds)}.")
    start = time.perf_counter()
    try:
        if cfg.bandit_studies:
            bandit_study.check_seeds(seeds)  # fail before the FOL studies spend their time
        studies = fol_study.run_studies(cfg.fol, tuple(cfg.studies), seeds, cfg.generalization)
        verdicts = fol_study.verdicts(studies)
        if cfg.bandit_studies:
            bandit = bandit_study.run_studies(
                {"mab": cfg.mab, "nsmab": cfg.nsmab}, tuple(cfg.bandit_studies), seeds, workdir
            )
            studies["bandit"], verdicts = bandit, {**verdicts, **bandit_study.verdicts(bandit)}
    except ValueError as err:
        sys.exit(f"error: {err}")
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
        print(f"{study}: {line}")
    print(f"wrote {workdir}/results.json and figures in {results['seconds']:.0f}s")


if __name__ == "__main__":
    app.run(main)
