"""Seed sweeps, ablation and attack studies, trade-offs, intervals, the baseline suite."""
