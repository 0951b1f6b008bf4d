from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.breach.range_standin import RangeStandIn, range_standin


@pytest.fixture
def corpus() -> Iterator[RangeStandIn]:
    with range_standin() as standin:
        yield standin
