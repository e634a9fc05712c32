"""The fixed point of Iterative RMFT in the single-layer setting, measured against FTRL.

    operator.py       single-layer parameters -> effective operator (cumulative rewards -> logits)
    fit.py            eta-hat: the Hedge(eta) / Euclidean-FTRL(eta) closest to a model's policies
    iteration_map.py  eta -> eta' (one RMFT iteration started from Hedge(eta)) and its fixed point
    study.py          the full measurement behind `python -m theory.fixed_point`
    plots.py          its figures

See docs/theory.md for the statement, the setting and what was found.
"""
