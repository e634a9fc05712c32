"""Decision problems as RMFT tasks: FOL (one-pass and sequential), MAB / NS-MAB, and their rollouts."""
