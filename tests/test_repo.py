"""The README's quick start stays true: CI runs its test command verbatim, its commands name real files."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quick_start_commands():
    """The bash commands of the README's Quick start section."""
    with open(os.path.join(ROOT, "README.md")) as fh:
        text = fh.read()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [c.strip() for c in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    assert all(c.startswith("pip install -e ") for c in commands)


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = quick_start_commands()[1]
    assert "pytest" in test_command
    with open(os.path.join(ROOT, ".ci", "run")) as fh:
        assert test_command in fh.read()


def test_readme_commands_name_existing_modules_and_configs():
    with open(os.path.join(ROOT, "README.md")) as fh:
        text = fh.read()
    for module in set(re.findall(r"python -m ((?:experiments|benchmarks)\.\w+)", text)):
        assert os.path.exists(os.path.join(ROOT, *module.split(".")) + ".py"), module
    for config in set(re.findall(r"--config=(experiments/configs/\w+\.py)", text)):
        assert os.path.exists(os.path.join(ROOT, config)), config
