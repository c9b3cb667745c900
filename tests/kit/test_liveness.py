"""A loop's health as /ready reports it: a round finished while stopping does not read as running."""

from __future__ import annotations

from subgraphs.kit.liveness import LoopHealth, LoopState


def test_a_loop_told_to_stop_stays_stopping_through_its_last_rounds() -> None:
    now = [100.0]
    health = LoopHealth("queue", clock=lambda: now[0])
    health.starting()
    health.beat()
    assert health.state is LoopState.RUNNING and health.check() == (True, "")

    health.stopping()
    health.beat()  # the poll loop finishes the round it was in
    health.failed(RuntimeError("connection closed"))  # or fails on its way out
    assert health.state is LoopState.STOPPING
    assert health.check() == (False, "stopping")

    health.stopped()
    health.beat()
    assert health.state is LoopState.STOPPED

    health.starting()  # started again: an explicit start leaves the stopped state
    health.beat()
    assert health.state is LoopState.RUNNING


def test_a_failed_round_is_reported_until_the_next_one_succeeds() -> None:
    health = LoopHealth("consumer", clock=lambda: 0.0)
    health.starting()
    health.failed(ConnectionError("redis down"))
    assert health.check() == (False, "restarting after ConnectionError: redis down")
    health.beat()
    assert health.check() == (True, "")
