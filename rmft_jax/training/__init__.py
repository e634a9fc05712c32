"""Running RMFT: drivers (validate, resume, iterate, checkpoint, evaluate, write), the loop, checkpoints."""
