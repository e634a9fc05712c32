"""Is the fixed point of Iterative RMFT FTRL? Writes fixed_point.json and figures into --workdir.

python -m theory.fixed_point --config=theory/configs/fixed_point.py --workdir=DIR
"""

from experiments import cli
from theory import study

if __name__ == "__main__":
    cli.run_config(
        "theory/configs/fixed_point.py", "runs/theory_fixed_point", study.run, "fixed_point.json and figures go here."
    )
