"""The vectorized builder equals the tick-by-tick streaming reference, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from ash.bars.builder import build_bars_from_stream
from ash.bars.events import EventStream
from ash.bars.spec import BarSpec
from tests.bars.reference import reference_bars
from tests.bars.strategies import specs, streams


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), spec=specs)
def test_vectorized_equals_streaming_reference(stream: EventStream, spec: BarSpec) -> None:
    bars = build_bars_from_stream(stream, spec)
    ref = reference_bars(stream, spec, with_options=bool(len(stream.surface)))
    assert bars.stats.rejected == ref.rejected
    assert bars.ts_ns.tolist() == ref.bar_ts
    assert bars.segment_starts.tolist() == ref.segment_starts
    np.testing.assert_array_equal(bars.values, ref.values())
    assert np.isfinite(bars.values).all()
