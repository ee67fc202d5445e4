"""The README's promises: its Python blocks run as written, its results table quotes its files."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def results_rows():
    """(cells to check, results file) of each row of the "Results at a glance" table."""
    section = README.split("## Results at a glance", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "](" in line]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        path = re.search(r"\]\(([^)]+)\)", cells[-1]).group(1)
        yield cells[1:3], ROOT / path


def test_readme_python_blocks_run_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    blocks = python_blocks()
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["Z"].shape == (1797, 2)
    assert namespace["threes"].shape == (5, 64)


@pytest.mark.parametrize("cells, path", list(results_rows()), ids=lambda v: str(v)[-40:])
def test_every_number_of_the_results_table_is_in_its_results_file(cells, path):
    text = path.read_text()
    numbers = re.findall(r"\d[\d,]*\.\d+", " ".join(cells))
    assert numbers
    for number in numbers:
        assert number in text, f"{number} is not in {path.name}"


def test_results_table_has_at_most_eight_rows():
    assert 1 <= len(list(results_rows())) <= 8
