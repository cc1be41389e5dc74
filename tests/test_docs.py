"""The documentation is self-contained and its model tables are generated from the specs."""

import pathlib
import re

import pytest

import overparam_theory as ot
from overparam_theory import _docs

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"shared[/]|regression\.md|classification\.md|extensions\.md|style_and_deps|DESIGN\.md|anchors\.md")


def test_generated_tables_are_up_to_date():
    text = (ROOT / "docs" / "index.md").read_text()
    assert _docs.render(text, list(ot.SPECS.values())) == text, "run: python -m overparam_theory._docs"


def test_every_model_has_a_theory_page():
    for name in ot.SPECS:
        assert (ROOT / "docs" / "theory" / f"{name}.md").is_file(), name


def test_no_reference_to_files_outside_the_repository():
    offenders = []
    for path in ROOT.rglob("*"):
        if path.suffix in {".py", ".md", ".toml"} and ".git" not in path.parts and path.name != "test_docs.py":
            offenders += [f"{path.relative_to(ROOT)}:{i}" for i, line in enumerate(path.read_text().splitlines(), 1)
                          if OUTSIDE.search(line)]
    assert not offenders, offenders


_NUMBER_COMMENT = re.compile(r"#\s+(-?\d+(?:\.(\d+))?)(\.\.\.)?(?=\s|$|[):,])")


def _readme_python_block() -> str:
    text = (ROOT / "README.md").read_text()
    (block,) = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    return block


@pytest.mark.slow  # runs every statement, simulations included (~90 s)
def test_readme_python_block_runs_and_reproduces_its_numbers(tmp_path, monkeypatch):
    """Every statement of the README's Python block runs (in a scratch directory, since it
    writes figures), and each expression whose comment starts with a number evaluates to that
    number at the printed precision (``2.992...``: truncated, one unit of the last digit)."""
    import ast

    import numpy as np

    monkeypatch.chdir(tmp_path)
    block = _readme_python_block()
    lines = block.splitlines()
    namespace: dict = {}
    checked = 0
    for node in ast.parse(block).body:
        source = ast.get_source_segment(block, node)
        if not isinstance(node, ast.Expr):
            exec(compile(ast.Module([node], []), "README.md", "exec"), namespace)
            continue
        result = eval(compile(ast.Expression(node.value), "README.md", "eval"), namespace)  # once: no exec as well
        match = _NUMBER_COMMENT.search(lines[node.end_lineno - 1].split(source.splitlines()[-1], 1)[-1])
        if match:
            value = float(np.asarray(result))
            digits = len(match.group(2) or "")
            tol = 10.0**-digits * (1.0 if match.group(3) else 0.5)
            assert abs(value - float(match.group(1))) <= tol, (source, value, match.group(0))
            checked += 1
    assert checked >= 6, checked
