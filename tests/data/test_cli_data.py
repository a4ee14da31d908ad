"""`ash data import` / `ash data profile` through the typer sub-app."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ash.cli.data import app

runner = CliRunner()


def test_import_then_reimport_then_profile(tmp_path: Path, lobster_dir: Path) -> None:
    db = tmp_path / "ash.duckdb"
    first = runner.invoke(app, ["import", "lobster", str(lobster_dir), "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert "11,419" in first.output and "unchanged_quote=2,444" in first.output
    again = runner.invoke(app, ["import", "lobster", str(lobster_dir), "--db", str(db)])
    assert again.exit_code == 0
    assert "0 rows added" in again.output and "1 file(s) already imported" in again.output
    out = tmp_path / "report"
    prof = runner.invoke(app, ["profile", "--db", str(db), "--out", str(out)])
    assert prof.exit_code == 0, prof.output
    assert (out / "quality_report.md").exists() and (out / "data_dictionary.md").exists()


def test_bad_file_exits_with_the_precise_message(tmp_path: Path) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text("ts,symbol,price,size,side\n2024-01-02T14:30:00Z,XYZ,abc,1,0\n")
    res = runner.invoke(app, ["import", "trades", str(bad), "--db", str(tmp_path / "a.duckdb")])
    assert res.exit_code == 1
    assert "line 2" in res.output and "'price' is not a number" in res.output


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    res = runner.invoke(app, ["import", "ticks", str(tmp_path), "--db", str(tmp_path / "a.db")])
    assert res.exit_code == 2
    assert "use one of trades, quotes, options, lean, lobster" in res.output
