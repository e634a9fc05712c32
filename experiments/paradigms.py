"""Training paradigms side by side: python -m experiments.paradigms --config=experiments/configs/paradigms.py --workdir=DIR."""

import os
import sys
import time

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import distributed  # --compile_cache and multi-host flags
from rmft_jax.studies import bandit_study, paradigm_study
from rmft_jax.training import workdir_files, workdir_lock

_CONFIG = config_flags.DEFINE_config_file(
    "config", "experiments/configs/paradigms.py", "Config file, optionally FILE:VARIANT.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", "runs/paradigms", "paradigms.json and paradigms.png go here.")


def main(argv):
    """Entry point: flags -> every (setting, paradigm) -> paradigms.json, paradigms.png, verdicts."""
    del argv
    distributed.maybe_initialize()
    logging.set_verbosity(logging.WARNING)
    cfg, workdir = _CONFIG.value, _WORKDIR.value
    os.makedirs(workdir, exist_ok=True)
    start = time.perf_counter()
    seeds = [int(s) for s in cfg.seeds]
    path = os.path.join(workdir, "paradigms.json")
    try:
        # Bandit configs fail here, before the FOL half trains.
        bandit_study.validate_studies({"mab": cfg.mab, "nsmab": cfg.nsmab}, tuple(cfg.bandit_studies), seeds)
        with workdir_lock.hold(workdir):
            results, params = paradigm_study.run(cfg.fol, cfg.study, seeds)
            from theory import paradigm_fixed_point  # the theory's fit, for the stochastic setting's models

            fixed_point = paradigm_fixed_point.fits(cfg.fol, params, seeds)
            out = {
                "config": cfg.to_dict(),
                "results": results,
                "fixed_point": fixed_point,
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
    except (ValueError, workdir_lock.WorkdirBusy) as err:
        sys.exit(f"error: {err}")
    from rmft_jax import plotting

    plotting.plot_paradigms(paradigm_study.summary_rows(results), os.path.join(workdir, "paradigms.png"))
    for name, line in {**out["verdicts"], **out.get("bandit_verdicts", {})}.items():
        print(f"{name}: {line}")
    print(f"wrote {workdir}/paradigms.json and paradigms.png in {out['seconds']:.0f}s")


if __name__ == "__main__":
    app.run(main)
