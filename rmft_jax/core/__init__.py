"""The RMFT loop written once: one iteration, the selection rule, the SFT update."""
