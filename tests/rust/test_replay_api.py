"""The replay job and the torch-free Python API on real SPY ticks, against the real ash-serve.

Three minutes of 2013-10-07 (every trade print and Lean's 1 s quotes) for two symbols at once
(SPY and a half-priced copy, its ticks 7 ms earlier) through the contract fixture model
(window 8 over the 17 core columns): bars bit-equal, probabilities within 1e-5, served
P(up/flat/down) equal to :mod:`ash.decoding`, and the API's forecasts (ONNX Runtime, no torch)
equal to the served ones within 1e-5.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ash.api.onnx_model import load_model
from ash.jobs.replay import ReplayError, replay_ticks
from ash.jobs.serve_io import feed_lines, serve_stdin
from ash.runtime import build_command
from ash.testing.lean_sample import as_canonical, data_dir, quote_events, trade_ticks

pytestmark = [pytest.mark.rust, pytest.mark.xdist_group("rust")]

MODEL = "valid/w8_c17_h3_k5.onnx"
DAY = "20131007"
START_NS = 1_381_154_400_000_000_000  # 2013-10-07 10:00:00 New York
END_NS = START_NS + 180 * 1_000_000_000
# Probabilities agree within 1e-5; values in bps (mean, quantiles) within 1e-4 bps (a quantile
# moves by Δprob / density, so the float32 differences of the two runtimes grow there).
TOLERANCES = {"p_up": 1e-5, "p_flat": 1e-5, "p_down": 1e-5, "mean_bps": 1e-4}
TOLERANCES |= {f"q{q:g}": 1e-4 for q in (0.05, 0.25, 0.5, 0.75, 0.95)}


@pytest.fixture(scope="module")
def feeds() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    try:
        data_dir()
    except FileNotFoundError as exc:
        pytest.skip(f"SPY sample data not available: {exc}")
    trades, quotes = trade_ticks(DAY), quote_events(DAY)
    trades = trades[(trades.ts_ns >= START_NS) & (trades.ts_ns < END_NS)].reset_index(drop=True)
    quotes = quotes[(quotes.ts_ns >= START_NS) & (quotes.ts_ns < END_NS)].reset_index(drop=True)
    t, q = as_canonical(trades, quotes)
    assert t is not None and q is not None
    half_t, half_q = t.copy(), q.copy()
    half_t["price"] /= 2
    half_q[["bid", "ask"]] /= 2
    for frame in (half_t, half_q):
        frame["ts"] -= pd.Timedelta(milliseconds=7)
    return {"SPY": (t, q), "HALF": (half_t, half_q)}


@pytest.fixture
def ort_library(ort_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """ash-serve, started by the code under test, finds the ONNX Runtime library."""
    monkeypatch.setenv("ORT_DYLIB_PATH", ort_env["ORT_DYLIB_PATH"])


@pytest.mark.usefixtures("ort_library")
def test_two_symbols_replay_equal_to_python_and_to_the_torch_free_api(
    feeds: dict[str, tuple[pd.DataFrame, pd.DataFrame]], contract_fixtures: Path
) -> None:
    model = contract_fixtures / MODEL
    result = replay_ticks(model, feeds, bucket_probs=True)
    assert result.ok and result.bars_equal
    assert result.rejected == {}
    assert result.symbols == ("SPY", "HALF")
    assert result.ticks == sum(len(t) + len(q) for t, q in feeds.values())
    assert result.bars == result.bars_python == 2 * 180
    assert result.max_prob_diff <= 1e-5
    assert result.max_summary_diff <= 1e-9
    assert {"p50", "p99", "max"} <= set(result.latency_us)
    served = result.forecasts
    assert served is not None
    assert len(served) == result.predictions * 3
    assert set(served["symbol"]) == {"SPY", "HALF"}

    api = load_model(model)
    for symbol, (trades, quotes) in feeds.items():
        mine = api.predict(trades, quotes, symbol=symbol, bucket_probs=True)
        theirs = served[served["symbol"] == symbol]
        assert len(mine) == len(theirs) == (180 - 8 + 1) * 3
        joined = mine.merge(theirs, on=["bar_ts", "symbol", "horizon_s"], suffixes=("", "_rust"))
        assert len(joined) == len(mine)
        for column, tolerance in TOLERANCES.items():
            gap = np.abs(joined[column] - joined[f"{column}_rust"]).max()
            assert gap <= tolerance, (symbol, column, gap)
        probs = np.stack(joined["probs"].to_numpy())
        assert probs.shape == (len(joined), 5)
        assert np.abs(probs - np.stack(joined["probs_rust"].to_numpy())).max() <= 1e-5
        assert np.allclose(joined[["p_up", "p_flat", "p_down"]].sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.usefixtures("ort_library")
def test_summary_only_lines_carry_the_protocol_version_and_no_buckets(
    feeds: dict[str, tuple[pd.DataFrame, pd.DataFrame]], contract_fixtures: Path
) -> None:
    argv, env = build_command(contract_fixtures / MODEL, stdin=True, log_every=0)
    served = serve_stdin([*argv, "--summary-only"], env, feed_lines({"SPY": feeds["SPY"]}))
    assert len(served.predictions) == 180 - 8 + 1
    first = served.predictions[0]
    assert first.protocol == 2
    assert first.probs is None and first.edges is None
    assert first.summaries.shape == (3, 4)  # mean, P(up), P(flat), P(down) per horizon
    assert np.allclose(first.summaries[:, 1:].sum(axis=1), 1.0, atol=1e-4)


def test_the_onnx_api_never_imports_torch(
    feeds: dict[str, tuple[pd.DataFrame, pd.DataFrame]], contract_fixtures: Path, tmp_path: Path
) -> None:
    trades, quotes = feeds["SPY"]
    trades.to_pickle(tmp_path / "t.pkl")
    quotes.to_pickle(tmp_path / "q.pkl")
    code = (
        "import sys, pandas as pd, ash\n"
        f"m = ash.load_model({str(contract_fixtures / MODEL)!r})\n"
        f"f = m.predict(pd.read_pickle({str(tmp_path / 't.pkl')!r}), "
        f"pd.read_pickle({str(tmp_path / 'q.pkl')!r}), symbol='SPY')\n"
        "print(len(f), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str((180 - 8 + 1) * 3), "False"]


def test_bad_replays_say_what_is_wrong(contract_fixtures: Path, tmp_path: Path) -> None:
    from ash.jobs.replay import replay_store

    with pytest.raises(ReplayError, match="no such DuckDB store"):
        replay_store(
            contract_fixtures / MODEL, tmp_path / "none.duckdb", ["SPY"], "2013-10-07", "2013-10-08"
        )
    with pytest.raises(ReplayError, match="not after start"):
        replay_store(
            contract_fixtures / MODEL, tmp_path / "none.duckdb", ["SPY"], "2013-10-08", "2013-10-07"
        )
    with pytest.raises(ValueError, match="full window of 8 bars"):
        load_model(contract_fixtures / MODEL).predict(
            pd.DataFrame(
                {"ts": pd.to_datetime([START_NS], utc=True), "price": [1.0], "size": [1.0]}
            ),
            symbol="SPY",
        )
    assert json.loads(next(iter(feed_lines({})), "null")) is None
