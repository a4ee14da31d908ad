"""docs/experiment-schema.md is generated from the models and must be current."""

from pathlib import Path

from ash.config.docs import render
from ash.registry import load_registry

REPO = Path(__file__).resolve().parents[2]


def test_schema_doc_is_current() -> None:
    expected = render(load_registry(entry_points=False))
    actual = (REPO / "docs/experiment-schema.md").read_text(encoding="utf-8")
    assert actual == expected, "run `python -m ash.config.docs` to regenerate the schema doc"


def test_schema_doc_covers_every_section() -> None:
    text = render(load_registry(entry_points=False))
    for section in ("`data`", "`bars`", "`split`", "`model`", "`train`", "`tune`", "`tune.budget`"):
        assert f"## {section}" in text
    assert "| `model.steps` | int | `64` |" in text
