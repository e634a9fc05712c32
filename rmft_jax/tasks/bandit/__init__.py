"""Multi-armed bandits (MAB, NS-MAB): the task (task.py), its tokens, rollouts, evaluation and transfer tests."""
