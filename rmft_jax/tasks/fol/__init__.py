"""Full-information online learning: the task (task.py), its scenarios, rollouts, adversaries and grading."""
