"""Documentation tables generated from the model declarations.

``python -m overparam_theory._docs`` rewrites the part of ``docs/index.md`` between the markers
``<!-- spec-tables:begin -->`` and ``<!-- spec-tables:end -->``: one table of models and, per model,
its parameters (valid range, default, grid axis, the paper's symbol, convention) and fields.
``tests/test_docs.py`` fails when the file is out of date.
"""

from __future__ import annotations

import pathlib
import sys

BEGIN, END = "<!-- spec-tables:begin -->", "<!-- spec-tables:end -->"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def spec_tables(specs) -> str:
    """Markdown: a models table, then a parameters and a fields table per model."""
    lines = ["| model | summary | grid parameters | fields compared by default | theory page |", "|---|---|---|---|---|"]
    for s in specs:
        lines.append(
            f"| `{s.name}` | {_cell(s.summary)} | {', '.join(f'`{n}`' for n in s.grid_params)} | "
            f"{', '.join(f'`{n}`' for n in s.compared_fields)} | [theory/{s.name}.md](theory/{s.name}.md) |"
        )
    for s in specs:
        lines += ["", f"### `{s.name}`", "", _cell(s.summary) + ".", ""]
        lines += ["| parameter | valid values | default | grid | symbol | meaning and convention |", "|---|---|---|---|---|---|"]
        for p in s.params:
            role = "" if p.role == "model" else f" ({p.role} only)"
            meaning = p.help + (f"; {p.convention}" if p.convention else "")
            lines.append(
                f"| `{p.name}`{role} | {_cell(p.describe())} | `{p.default!r}` | {'yes' if p.grid else ''} | "
                f"{_cell(p.symbol)} | {_cell(meaning)} |"
            )
        lines += ["", "| field | meaning | compared |", "|---|---|---|"]
        lines += [f"| `{f.name}` | {_cell(f.meaning)} | {'yes' if f.compare else ''} |" for f in s.fields]
        if s.references:
            lines += ["", "References: " + "; ".join(_cell(r) for r in s.references) + "."]
    return "\n".join(lines)


def render(text: str, specs) -> str:
    """``text`` with the marked section replaced by :func:`spec_tables`."""
    head, sep, rest = text.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise ValueError(f"markers {BEGIN} ... {END} not found")
    return f"{head}{BEGIN}\n{spec_tables(specs)}\n{END}{tail}"


def main(path="docs/index.md") -> int:
    import overparam_theory as ot

    file = pathlib.Path(path)
    file.write_text(render(file.read_text(), list(ot.SPECS.values())))
    print(f"wrote {file}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(*sys.argv[1:]))
