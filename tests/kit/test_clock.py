"""Time as MongoDB keeps it, and on/off environment variables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from subgraphs.kit.clock import as_utc, utcnow
from subgraphs.kit.settings import env_flag


def test_utcnow_is_aware_and_millisecond_precise() -> None:
    moment = utcnow()
    assert moment.tzinfo is UTC
    assert moment.microsecond % 1000 == 0
    assert abs(datetime.now(UTC) - moment) < timedelta(seconds=5)


def test_as_utc_marks_naive_values_and_keeps_aware_ones() -> None:
    naive = datetime(2024, 6, 1, 12, 30)
    assert as_utc(naive) == datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
    aware = datetime(2024, 6, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(aware) is aware


@pytest.mark.parametrize(("value", "default", "expected"), [
    (None, True, True), ("", False, False), ("  ", True, True), ("1", False, True), ("TRUE", False, True),
    (" yes ", False, True), ("on", False, True), ("0", True, False), ("off", True, False), ("nope", True, False),
])
def test_env_flag(value: str | None, default: bool, expected: bool) -> None:
    assert env_flag(value, default) is expected
