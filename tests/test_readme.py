"""The README is a front door: short, its one table generated, no other result quoted, every doc mapped."""

import glob
import os
import re

from experiments import make_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Numbers with a decimal point that are not results: the Python version and the paper's arXiv id.
NOT_RESULTS = {"3.11", "2511.04393"}


def read(*path: str) -> str:
    with open(os.path.join(ROOT, *path)) as fh:
        return fh.read()


def generated_block(text: str) -> str:
    """The lines between the README's markers."""
    start = text.index(make_results.README_BEGIN) + len(make_results.README_BEGIN)
    return text[start : text.index(make_results.README_END)]


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def test_readme_is_at_most_250_lines():
    assert len(read("README.md").splitlines()) <= 250


def test_readme_headline_table_is_the_generated_one_in_results_md():
    readme_rows = table_rows(generated_block(read("README.md")))
    assert len(readme_rows) >= 3, "the generated block holds no table: run python -m experiments.make_results"
    results = read("docs", "results.md")
    headline = results.split("## Headline", 1)[1].split("\n## ", 1)[0]
    assert readme_rows == table_rows(headline)


def test_readme_quotes_no_result_outside_the_generated_block():
    text = read("README.md")
    start, end = text.index(make_results.README_BEGIN), text.index(make_results.README_END)
    prose = text[:start] + text[end:]
    prose = re.sub(r"```.*?```", "", prose, flags=re.S)  # commands
    decimals = set(re.findall(r"\d+\.\d+", prose)) - NOT_RESULTS
    ratios = re.findall(r"\b\d+(?:\.\d+)?(?:%|x\b)", prose)
    assert not decimals and not ratios, f"numbers copied by hand into the README: {sorted(decimals) + ratios}"


def test_headline_block_is_rewritten_in_place(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(f"intro\n{make_results.README_BEGIN}\nold table\n{make_results.README_END}\noutro\n")
    res = {"mab": {"methods": {"initial": {"regret": 16.0}, "rmft": {"regret": 10.0}}, "grade": None}}
    assert make_results.update_readme(str(path), make_results.readme_block(res))
    text = path.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "old table" not in text
    assert "Not run yet." in generated_block(text)
    (tmp_path / "plain.md").write_text("no markers\n")
    assert not make_results.update_readme(str(tmp_path / "plain.md"), ["x"])


def test_headline_table_grades_against_the_strongest_reference_and_the_limit():
    grade = {
        "best_prior_free": "kl_ucb",
        "best_prior_free_regret": 12.0,
        "limit": "gap_bayes_kg",
        "limit_regret": 6.0,
        "gap_closed": 0.5,
    }
    res = {"mab": {"methods": {"initial": {"regret": 18.0}, "rmft": {"regret": 12.0}}, "grade": grade}}
    (row,) = table_rows("\n".join(make_results.headline_table(res)))[2:]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:6] == ["18.00", "**12.00**", "kl_ucb 12.00", "gap_bayes_kg 6.00", "0.50"]
    assert cells[-1].startswith("behind the best prior-free (1.00x)") and "6.00 above the limit" in cells[-1]


def test_every_doc_is_in_the_readme_map_and_every_mapped_file_exists():
    text = read("README.md")
    section = text.split("## The docs", 1)[1].split("\n## ", 1)[0]
    mapped = set(re.findall(r"^\| `([^`]+)` \|", section, re.M))
    docs = {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md"))}
    assert docs <= mapped, f"docs missing from the README's map: {sorted(docs - mapped)}"
    assert all(os.path.exists(os.path.join(ROOT, p)) for p in mapped), mapped


def test_usage_doc_commands_name_existing_modules_and_configs():
    text = read("docs", "usage.md")
    for module in set(re.findall(r"python -m ((?:experiments|benchmarks|theory)\.\w+)", text)):
        assert os.path.exists(os.path.join(ROOT, *module.split(".")) + ".py"), module
    for config in set(re.findall(r"--config=((?:experiments|theory)/configs/\w+\.py)", text)):
        assert os.path.exists(os.path.join(ROOT, config)), config
