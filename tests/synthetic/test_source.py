"""The ``synthetic`` source: schemas, determinism, sessions, chunking, filters, errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ash.data.schema import SCHEMAS
from ash.synthetic.config import SyntheticConfig
from ash.synthetic.oracle import Oracle
from ash.synthetic.source import SyntheticSource

SMALL = SyntheticConfig(n_days=2, session_close=dt.time(10, 30), seed=3)


def read_all(src: SyntheticSource, kind: str, symbols: list[str], **kw) -> pd.DataFrame:
    chunks = list(src.read(kind, symbols, **kw))  # type: ignore[arg-type]
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()


@pytest.fixture(scope="module")
def src() -> SyntheticSource:
    return SyntheticSource(SMALL)


@pytest.mark.parametrize("kind", ["trades", "quotes", "options"])
def test_frames_follow_the_canonical_schema_and_time_order(src: SyntheticSource, kind: str) -> None:
    symbols = src.symbols()
    frame = read_all(src, kind, symbols)
    assert list(frame.columns) == list(SCHEMAS[kind])
    assert {c: str(t) for c, t in frame.dtypes.items()} == SCHEMAS[kind]
    assert frame["ts"].is_monotonic_increasing
    assert len(frame) > 0
    assert frame.notna().all().all()


def test_same_seed_same_events_and_a_new_seed_changes_them() -> None:
    a = read_all(SyntheticSource(SMALL), "trades", ["SYN"])
    b = read_all(SyntheticSource(SMALL.model_copy()), "trades", ["SYN"])
    # a fresh simulator (not the cached one) reproduces the frames too
    from ash.synthetic.simulator import Simulator

    fresh = pd.concat([Simulator(SMALL).events(d, "trades", "SYN") for d in range(2)])
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, fresh.reset_index(drop=True))
    c = read_all(SyntheticSource(SMALL.model_copy(update={"seed": 4})), "trades", ["SYN"])
    assert not a["price"].equals(c["price"])


def test_latent_path_does_not_depend_on_observable_parameters() -> None:
    from ash.synthetic.simulator import Simulator

    other = SMALL.model_copy(update={"trade_rate_per_s": 3.0, "quote_size_lots": 9.0})
    assert np.array_equal(Simulator(SMALL).latent(1).x, Simulator(other).latent(1).x)


def test_sessions_are_regular_hours_on_business_days_with_overnight_gaps() -> None:
    src = SyntheticSource(SyntheticConfig(n_days=3, start_date=dt.date(2024, 1, 5), options=False))
    q = read_all(src, "quotes", ["SYN"])
    local = q["ts"].dt.tz_convert("America/New_York")
    days = sorted(set(local.dt.date))
    assert days == [dt.date(2024, 1, 5), dt.date(2024, 1, 8), dt.date(2024, 1, 9)]
    tod = local.dt.hour * 3600 + local.dt.minute * 60 + local.dt.second
    assert tod.min() >= 9.5 * 3600 and tod.max() < 16 * 3600
    first = q.groupby(local.dt.date).head(1)
    last = q.groupby(local.dt.date).tail(1)
    mid_first = ((first.bid + first.ask) / 2).to_numpy()[1:]
    mid_last = ((last.bid + last.ask) / 2).to_numpy()[:-1]
    assert np.all(mid_first != mid_last)  # the overnight return moves the price


def test_quotes_sit_on_the_tick_lattice_with_exact_half_tick_mids(src: SyntheticSource) -> None:
    q = read_all(src, "quotes", ["SYN"])
    for col in ("bid", "ask"):
        cents = q[col].to_numpy() / 0.01
        assert np.abs(cents - np.round(cents)).max() < 1e-6
    spread = np.round((q.ask - q.bid).to_numpy() / 0.01)
    assert spread.min() >= 1 and spread.max() <= SMALL.max_spread_ticks
    mid = ((q.bid + q.ask) / 2).to_numpy()
    half = np.round(mid / 0.005)
    canonical = np.round(half * 0.005, 10)
    assert np.array_equal(mid, canonical)  # same half tick -> bit-identical mid


def test_trades_execute_at_the_prevailing_quote_on_their_true_side(src: SyntheticSource) -> None:
    t = read_all(src, "trades", ["SYN"])
    q = read_all(src, "quotes", ["SYN"])
    merged = pd.merge_asof(t, q[["ts", "bid", "ask"]], on="ts", direction="backward")
    buys = merged.side == 1
    assert set(np.unique(merged.side)) == {-1, 1}
    assert np.array_equal(merged.price[buys], merged.ask[buys])
    assert np.array_equal(merged.price[~buys], merged.bid[~buys])
    assert (t["size"] >= 1).all()


def test_chunks_cover_the_whole_read_in_order(src: SyntheticSource) -> None:
    whole = read_all(src, "quotes", ["SYN", "IDX"])
    chunks = list(src.read("quotes", ["SYN", "IDX"], chunk_rows=777))
    assert all(0 < len(c) <= 777 for c in chunks)
    joined = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole)
    assert set(joined.symbol) == {"SYN", "IDX"}


def test_time_filter_is_half_open(src: SyntheticSource) -> None:
    whole = read_all(src, "trades", ["SYN"])
    start, end = whole.ts.iloc[100], whole.ts.iloc[5000]
    part = read_all(src, "trades", ["SYN"], start=start, end=end)
    expected = whole[(whole.ts >= start) & (whole.ts < end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)
    assert part.ts.iloc[0] == start and part.ts.iloc[-1] < end
    late = pd.Timestamp("2030-01-01", tz="UTC")
    assert list(src.read("trades", ["SYN"], start=late)) == []


def test_bad_reads_fail_with_precise_errors(src: SyntheticSource) -> None:
    with pytest.raises(KeyError, match=r"unknown symbols \['AAPL'\]"):
        next(src.read("trades", ["AAPL"]))
    with pytest.raises(ValueError, match="unknown event kind 'bars'"):
        next(src.read("bars", ["SYN"]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no time zone"):
        next(src.read("trades", ["SYN"], start=pd.Timestamp("2024-01-02")))
    with pytest.raises(ValueError, match="chunk_rows must be at least 1"):
        next(src.read("trades", ["SYN"], chunk_rows=0))
    with pytest.raises(TypeError, match="list of names"):
        next(src.read("trades", "SYN"))  # type: ignore[arg-type]
    no_opts = SyntheticSource(SMALL.model_copy(update={"options": False}))
    assert "options" not in no_opts.event_kinds()
    with pytest.raises(ValueError, match="options: false"):
        next(no_opts.read("options", ["SYN"]))
    assert list(src.read("options", ["IDX"])) == []  # the index has no chain
    with pytest.raises(TypeError, match="needs a SyntheticConfig"):
        SyntheticSource(SMALL.__class__.__bases__[0]())


def test_symbols_and_oracle(src: SyntheticSource) -> None:
    assert src.symbols() == ["SYN", "IDX"]
    no_ctx = SyntheticSource(SMALL.model_copy(update={"context_symbol": None}))
    assert no_ctx.symbols() == ["SYN"]
    assert isinstance(src.oracle(), Oracle)


def _bar_mids(q: pd.DataFrame, bar_ends: np.ndarray) -> np.ndarray:
    """Mid of the last quote at or before each bar end (what the bar builder computes)."""
    ts = pd.DatetimeIndex(q.ts).asi8
    idx = np.searchsorted(ts, bar_ends, side="right") - 1
    return ((q.bid.to_numpy() + q.ask.to_numpy()) / 2.0)[idx]


@pytest.mark.parametrize("symbol", ["SYN", "IDX"])
def test_oracle_targets_equal_targets_built_from_the_quotes(src: SyntheticSource, symbol) -> None:
    q = read_all(src, "quotes", [symbol])
    oracle = src.oracle()
    sim = src.simulator
    ends = int(sim.opens_ns[1]) + np.arange(1, 3600) * 10**9  # 1 s bar ends of day 2
    mids = _bar_mids(q, ends)
    for h in (1, 7, 60):
        realized = oracle.realized_returns(symbol, ends, [h])[:, 0]
        inside = ends + h * 10**9 <= sim.close_ns(1)
        expected = 1e4 * np.log(mids[h:] / mids[:-h])
        assert np.array_equal(
            realized[: len(expected)][inside[: len(expected)]], expected[inside[: len(expected)]]
        )
        assert np.isnan(realized[~inside]).all()


def test_targets_from_the_bar_builder_equal_the_oracles_realized_returns(
    src: SyntheticSource,
) -> None:
    builder = pytest.importorskip("ash.bars.builder")
    from ash.bars.spec import BarSpec
    from ash.data.targets import targets_for

    horizons = [1, 5, 60]
    oracle = src.oracle()
    for symbol in src.symbols():
        trades = read_all(src, "trades", [symbol])
        quotes = read_all(src, "quotes", [symbol])
        bars = builder.build_bars(trades, quotes, spec=BarSpec(session="09:30-10:30"))
        assert len(bars.segment_starts) == SMALL.n_days  # one segment per session
        targets = targets_for(bars, horizons).returns_bps
        ends = bars.ts_ns + round(bars.spec.seconds * 1e9)
        realized = oracle.realized_returns(symbol, ends, horizons)
        both = np.isfinite(targets)
        assert both.mean() > 0.95
        assert np.array_equal(targets[both], realized[both])  # bit for bit
        assert np.isnan(targets[np.isnan(realized)]).all()


def test_oracle_state_exposes_the_latent_variables(src: SyntheticSource) -> None:
    sim = src.simulator
    ends = int(sim.opens_ns[0]) + np.array([-10, 5, 1800, 3600]) * 10**9
    state = src.oracle().state(ends)
    assert np.isnan(state["price"][0])  # before the open
    lat = sim.latent(0)
    j0 = (5 * 10**9 - sim.dyn.fine_ns // 2) // sim.dyn.fine_ns
    assert state["price"][1] == np.exp(lat.x[j0])
    assert state["sigma_bps"][1] == lat.sigma[j0 // sim.dyn.ratio] * 1e4
    assert set(np.unique(state["regime"][1:])) <= set(range(len(SMALL.regime_vol_mult)))
    assert (state["spread_ticks"][1:] >= 1).all()


def test_mutating_a_chunk_does_not_change_later_reads(src: SyntheticSource) -> None:
    first = next(src.read("quotes", ["SYN"]))
    before = first["bid"].iloc[0]
    first.loc[0, "bid"] = -1.0
    assert next(src.read("quotes", ["SYN"]))["bid"].iloc[0] == before


def test_sessions_follow_new_york_time_across_a_dst_change() -> None:
    from ash.synthetic.simulate import session_opens_ns

    cfg = SyntheticConfig(n_days=2, start_date=dt.date(2024, 3, 8), options=False)
    dates, opens = session_opens_ns(cfg)
    assert dates == [dt.date(2024, 3, 8), dt.date(2024, 3, 11)]
    utc = pd.to_datetime(opens, utc=True)
    assert [t.hour for t in utc] == [14, 13]  # EST then EDT
    assert all(t.tz_convert("America/New_York").time() == dt.time(9, 30) for t in utc)
