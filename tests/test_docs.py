"""The documentation is self-contained and its model tables are generated from the specs."""

import pathlib
import re

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
