"""Invariants of the bar builder: causality, conservation, counted rejections, grid rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ash.bars.builder import build_bars, build_bars_from_stream
from ash.bars.columns import OPTION_COLUMNS
from ash.bars.events import EventStream
from ash.bars.result import REJECT_REASONS
from ash.bars.spec import BarSpec
from tests.bars.strategies import event_rows, specs, streams, to_stream

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    prefix=st.lists(event_rows(), min_size=1, max_size=30),
    tail_a=st.lists(event_rows(), max_size=15),
    tail_b=st.lists(event_rows(), max_size=15),
    spec=specs,
)
def test_events_after_t_never_change_earlier_bars(
    prefix: list[dict[str, object]],
    tail_a: list[dict[str, object]],
    tail_b: list[dict[str, object]],
    spec: BarSpec,
) -> None:
    head = build_bars_from_stream(to_stream(prefix), spec, options=True)
    if not len(head):
        return
    cutoff = head.ts_ns[-1]  # the bar still open after the prefix; earlier ones are final
    a = build_bars_from_stream(to_stream(prefix + tail_a), spec, options=True)
    b = build_bars_from_stream(to_stream(prefix + tail_b), spec, options=True)
    for full in (a, b):
        n = int(np.searchsorted(full.ts_ns, cutoff))
        assert full.ts_ns[:n].tolist() == head.ts_ns[: len(head) - 1].tolist()
        np.testing.assert_array_equal(full.values[:n], head.values[: len(head) - 1])


@FAST
@given(stream=streams(min_size=1), spec=specs)
def test_bars_conserve_volume_and_trade_count(stream: EventStream, spec: BarSpec) -> None:
    bars = build_bars_from_stream(stream, spec)
    stats = bars.stats
    assert stats.events == len(stream)
    assert (
        stats.accepted_trades
        + stats.accepted_quotes
        + stats.accepted_surface
        + stats.rejected_total
        == len(stream)
    )
    if not len(bars):
        return
    assert bars.column("trade_count").sum() == stats.accepted_trades
    volume = bars.column("volume")
    np.testing.assert_allclose(bars.column("buy_volume") + bars.column("sell_volume"), volume)
    # the accepted trades are the valid ones that survive: recompute from the clean subset
    assert (volume >= 0).all() and (bars.column("high") >= bars.column("low")).all()
    assert (bars.column("vwap") <= bars.column("high") * (1 + 1e-12)).all()
    assert bars.column("session_start").sum() == len(bars.segment_starts)
    assert (np.diff(bars.ts_ns) > 0).all()


@FAST
@given(stream=streams(min_size=1, clean=True))
def test_clean_sorted_events_are_all_accepted_and_volume_adds_up(stream: EventStream) -> None:
    bars = build_bars_from_stream(stream, BarSpec())
    assert bars.stats.rejected_total == 0
    trades = stream.kind == 0
    assert bars.column("volume").sum() == pytest.approx(stream.x1[trades].sum(), rel=1e-12)
    assert bars.column("trade_count").sum() == trades.sum()


def _day(t: str) -> int:
    return int(pd.Timestamp("2013-10-07 " + t, tz="America/New_York").value)


@pytest.mark.parametrize(
    ("reason", "kind", "ts", "fields"),
    [
        ("bad_timestamp", 0, None, (100.0, 1.0, 0.0, np.nan)),
        ("bad_price", 0, "10:00:01", (np.nan, 1.0, 0.0, np.nan)),
        ("bad_price", 0, "10:00:01", (-3.0, 1.0, 0.0, np.nan)),
        ("bad_size", 0, "10:00:01", (100.0, 0.0, 0.0, np.nan)),
        ("bad_size", 0, "10:00:01", (100.0, np.inf, 0.0, np.nan)),
        ("bad_side", 0, "10:00:01", (100.0, 1.0, 0.5, np.nan)),
        ("bad_quote", 1, "10:00:01", (0.0, 100.0, 1.0, 1.0)),
        ("bad_quote", 1, "10:00:01", (99.0, 100.0, -1.0, 1.0)),
        ("crossed_quote", 1, "10:00:01", (100.5, 100.0, 1.0, 1.0)),
        ("outside_session", 0, "16:00:00", (100.0, 1.0, 0.0, np.nan)),
        ("late", 0, "10:00:00.5", (100.0, 1.0, 0.0, np.nan)),
    ],
)
def test_each_rejection_reason_is_counted(
    reason: str, kind: int, ts: str | None, fields: tuple[float, ...]
) -> None:
    times = [_day("10:00:00"), _day("10:00:02"), np.iinfo(np.int64).min if ts is None else _day(ts)]
    stream = EventStream(
        kind=np.array([0, 0, kind], dtype=np.int8),
        ts_ns=np.array(times, dtype=np.int64),
        x0=np.array([100.0, 100.01, fields[0]]),
        x1=np.array([5.0, 5.0, fields[1]]),
        x2=np.array([0.0, 0.0, fields[2]]),
        x3=np.array([np.nan, np.nan, fields[3]]),
        surface=np.empty((0, len(OPTION_COLUMNS))),
    )
    bars = build_bars_from_stream(stream, BarSpec(session="09:30-16:00"))
    assert bars.stats.rejected == {r: int(r == reason) for r in REJECT_REASONS}
    assert bars.stats.first_rejected == {reason: 2}  # the third event: find the bad row
    assert bars.column("trade_count").sum() == 2 and len(bars) == 3


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    ts = pd.to_datetime([_day("10:00:00.1"), _day("10:00:01.2"), _day("10:00:03.0")], utc=True)
    trades = pd.DataFrame(
        {
            "ts": ts,
            "symbol": "SPY",
            "price": [100.0, 100.02, 99.99],
            "size": [10.0, 20.0, 30.0],
            "side": np.array([0, 1, 0], dtype=np.int8),
        }
    )
    quotes = pd.DataFrame(
        {
            "ts": ts[:1],
            "symbol": "SPY",
            "bid": [99.99],
            "ask": [100.01],
            "bid_size": [1.0],
            "ask_size": [2.0],
        }
    )
    return trades, quotes


def test_frame_api_and_its_errors() -> None:
    trades, quotes = _frames()
    bars = build_bars(trades, quotes)
    assert bars.symbol == "SPY" and len(bars) == 4 and bars.has_quotes
    assert bars.column("trade_count").tolist() == [1, 1, 0, 1]
    assert bars.to_frame().index[0] == pd.Timestamp("2013-10-07 14:00:00", tz="UTC")
    two = trades.assign(symbol=["SPY", "QQQ", "SPY"])
    with pytest.raises(ValueError, match="2 symbols"):
        build_bars(two)
    with pytest.raises(ValueError, match="tz-aware"):
        build_bars(trades.assign(ts=trades["ts"].dt.tz_localize(None)))
    with pytest.raises(ValueError, match="lacks columns"):
        build_bars(trades.drop(columns=["size"]))
    with pytest.raises(ValueError, match="different symbols"):
        build_bars(trades, quotes.assign(symbol="QQQ"))
    with pytest.raises(ValueError, match="needs trades or quotes"):
        build_bars(None)
    with pytest.raises(KeyError, match="no bar column"):
        bars.column("nope")


def test_quotes_only_frames_give_mid_prices_and_zero_volume() -> None:
    _, quotes = _frames()
    later = quotes.assign(ts=quotes["ts"] + pd.Timedelta(seconds=2), bid=[100.0], ask=[100.04])
    bars = build_bars(None, pd.concat([quotes, later], ignore_index=True))
    assert bars.column("close").tolist() == pytest.approx([100.0, 100.0, 100.02])
    assert bars.column("volume").sum() == 0 and bars.stats.accepted_trades == 0


def test_context_columns_align_and_forward_fill() -> None:
    trades, quotes = _frames()
    ctx_trades = trades.assign(ts=trades["ts"] + pd.Timedelta(seconds=1), price=[50.0, 51.0, 52.0])
    ctx = build_bars(ctx_trades)  # bars at 10:00:01, :02, :04
    bars = build_bars(trades, quotes, context=ctx)
    assert bars.columns[-5:] == (
        "ctx_close",
        "ctx_mid",
        "ctx_volume",
        "ctx_buy_volume",
        "ctx_sell_volume",
    )
    assert bars.column("ctx_close").tolist() == [50.0, 50.0, 51.0, 51.0]  # first value backfills
    assert bars.column("ctx_volume").tolist() == [0.0, 10.0, 20.0, 0.0]  # only exact bars
    with pytest.raises(ValueError, match="context bars"):
        build_bars(trades, spec=BarSpec(seconds=0.5), context=ctx)


def test_spec_validation_messages() -> None:
    with pytest.raises(ValueError, match="divides one hour"):
        BarSpec(seconds=0.7)
    with pytest.raises(ValueError, match="unknown time zone"):
        BarSpec(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="09:30-16:00"):
        BarSpec(session="9-4")
    with pytest.raises(ValueError, match="end after"):
        BarSpec(session="16:00-09:30")
    with pytest.raises(ValueError, match="gap_seconds"):
        BarSpec(seconds=60, gap_seconds=30)


def test_grid_origin_is_local_midnight_across_dst() -> None:
    # 2013-11-03: New York leaves DST at 02:00; bars stay on real-time seconds from midnight.
    ts = pd.to_datetime(["2013-11-03 12:00:00.5"], utc=True).tz_convert("UTC")
    trades = pd.DataFrame({"ts": ts, "price": [1.0], "size": [1.0]})
    bars = build_bars(trades, spec=BarSpec(seconds=5))
    midnight = pd.Timestamp("2013-11-03", tz="America/New_York").value
    assert bars.ts_ns[0] == pd.Timestamp("2013-11-03 12:00:00", tz="UTC").value
    # elapsed seconds since local midnight: 8 h, although the wall clock says 07:00 EST
    assert bars.column("time_of_day")[0] == (bars.ts_ns[0] - midnight) / 1e9 == 8 * 3600


@settings(max_examples=100, deadline=None)
@given(
    t_ts=st.lists(st.integers(0, 20), max_size=12),
    q_ts=st.lists(st.integers(0, 20), max_size=12),
    s_ts=st.lists(st.integers(0, 20), max_size=5),
)
def test_merge_feeds_keeps_feed_order_and_breaks_ties_state_first(
    t_ts: list[int], q_ts: list[int], s_ts: list[int]
) -> None:
    from ash.bars.events import merge_feeds

    if not (t_ts or q_ts or s_ts):
        return
    t = np.array(t_ts, dtype=np.int64)
    q = np.array(q_ts, dtype=np.int64)
    s = np.array(s_ts, dtype=np.int64)
    tag_t, tag_q = np.arange(len(t), dtype=float), 100.0 + np.arange(len(q))
    surface = np.tile(200.0 + np.arange(len(s))[:, None], (1, len(OPTION_COLUMNS)))
    stream = merge_feeds((t, tag_t, tag_t, tag_t), (q, tag_q, tag_q, tag_q, tag_q), (s, surface))
    # definition: arrival = running max of the feed's ts; sort by (arrival, surface<quote<trade)
    rows = [(np.maximum.accumulate(t)[i], 2, i, 0, tag_t[i]) for i in range(len(t))]
    rows += [(np.maximum.accumulate(q)[i], 1, i, 1, tag_q[i]) for i in range(len(q))]
    rows += [(np.maximum.accumulate(s)[i], 0, i, 2, np.nan) for i in range(len(s))]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    assert stream.kind.tolist() == [r[3] for r in rows]
    np.testing.assert_array_equal(stream.x0, [r[4] for r in rows])
    np.testing.assert_array_equal(stream.surface[:, 0], 200.0 + np.arange(len(s)))
