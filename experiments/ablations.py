"""The paper's FOL study: python -m experiments.ablations --config=experiments/configs/ablations.py --workdir=DIR."""
import json
import os
import sys
import time

from absl import app, flags, logging
from ml_collections import config_flags

from rmft_jax import fol_study, plotting

_CONFIG = config_flags.DEFINE_config_file(
    "config", "experiments/configs/ablations.py", "Config file, optionally FILE:VARIANT.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", "runs/ablations", "results.json and figures go here.")


def main(argv):
    """Entry point: flags -> every study -> results.json, ablations.png."""
    del argv
    logging.set_verbosity(logging.WARNING)
    cfg, workdir = _CONFIG.value, _WORKDIR.value
    if len(cfg.seeds) < 1 or len(set(cfg.seeds)) != len(cfg.seeds):
        sys.exit(f"error: seeds must be distinct and at least one, got {tuple(cfg.seeds)}.")
    start = time.perf_counter()
    try:
        results = fol_study.run_studies(cfg.fol, tuple(cfg.studies), [int(s) for s in cfg.seeds], cfg.generalization)
    except ValueError as err:
        sys.exit(f"error: {err}")
    results = {"config": cfg.to_dict(), "studies": results, "verdicts": fol_study.verdicts(results),
               "seconds": time.perf_counter() - start}
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "results.json"), "w") as fh:
        json.dump(results, fh, indent=2, default=list)
    plotting.plot_ablations(results["studies"], os.path.join(workdir, "ablations.png"))
    for study, line in results["verdicts"].items():
        print(f"{study}: {line}")
    print(f"wrote {workdir}/results.json and ablations.png in {results['seconds']:.0f}s")


if __name__ == "__main__":
    app.run(main)
