"""Every built-in source passes the conformance kit and yields canonical frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ash.data.schema import SCHEMAS
from ash.data.sources.duckdb_source import DuckDBSource
from ash.data.sources.lean import LeanSource
from ash.data.sources.lobster import LobsterSource
from ash.data.sources.sql import SQLSource
from ash.interfaces import Source
from ash.testing import check_component


@pytest.mark.parametrize("cls", [DuckDBSource, SQLSource, LeanSource, LobsterSource])
def test_conformance_kit(cls: type[Source]) -> None:
    check_component(cls)


def canonical(df: pd.DataFrame, kind: str) -> bool:
    return {c: str(t) for c, t in df.dtypes.items()} == {
        c: ("string" if t == "string" else t) for c, t in SCHEMAS[kind].items()
    }


def test_every_file_source_yields_canonical_sorted_frames(
    spy_dir: Path, lobster_dir: Path, real_store: Path
) -> None:
    sources: list[Source] = [
        LeanSource(LeanSource.Config(path=str(spy_dir), days=["20131009"])),
        LobsterSource(LobsterSource.Config(path=str(lobster_dir))),
        DuckDBSource(DuckDBSource.Config(path=str(real_store))),
    ]
    for src in sources:
        for kind in sorted(src.event_kinds()):
            chunks = list(src.read(kind, src.symbols()[:1], chunk_rows=50_000))
            assert chunks, (src.name, kind)
            for c in chunks:
                assert canonical(c, kind), (src.name, kind, c.dtypes)
            ts = pd.concat([c["ts"] for c in chunks], ignore_index=True)
            assert ts.is_monotonic_increasing, (src.name, kind)
