"""The completion groups' mechanics (gateway.subscriptions.sharing), in process: one computation per
event for the members, its exception for all of them, cancellation of the computing member, and the
memo's bounds (taken by everyone, left by a member, a window for members that are behind)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.subscriptions.sharing import MEMO_WINDOW, CompletionGroup, CompletionGroups, CompletionKey
from tests.support.servers import wait_for


class Completions:
    """A completer that counts its runs; while `hold` is set, each run waits for it to clear."""

    def __init__(self, fail: bool = False) -> None:
        self.runs: list[int] = []
        self.fail = fail
        self.hold: asyncio.Event | None = None
        self.cancelled = 0

    def __call__(self, group: CompletionGroup) -> Any:
        async def complete(sequence: int, event: dict[str, Any], link: Any) -> dict[str, Any]:
            self.runs.append(sequence)
            try:
                if self.hold is not None:
                    await self.hold.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            if self.fail:
                raise RuntimeError(f"completion of {sequence} broke")
            return {"data": {"event": event, "by": link, "id": group.request_id(sequence)}}

        return complete


def key(variables: dict[str, Any] | None = None) -> CompletionKey:
    return CompletionKey.of(UPSTREAM, ANCHORS, variables or {}, {"authorization": "Bearer t"})


UPSTREAM, ANCHORS = object(), (object(), object(), None)


async def eventually(predicate: Any, message: str) -> None:
    async def probe() -> bool:
        return bool(predicate())

    await wait_for(probe, timeout=5, message=message)


async def test_members_get_one_completion_and_its_exception_alike() -> None:
    groups, completions = CompletionGroups(), Completions()
    a = groups.join(key(), ANCHORS, 1, "a", completions)
    b = groups.join(key(), ANCHORS, 1, "b", completions)
    other = groups.join(key({"x": 1}), ANCHORS, 1, "other", completions)
    results = await asyncio.gather(a.complete(1, {"n": 1}), b.complete(1, {"n": 1}), other.complete(1, {"n": 1}))
    assert results[0] is results[1]  # one result object for the two equal members
    assert results[2] is not results[0] and completions.runs == [1, 1]  # the other variables: its own
    completions.fail = True
    raised = await asyncio.gather(a.complete(2, {"n": 2}), b.complete(2, {"n": 2}), return_exceptions=True)
    assert [str(e) for e in raised] == ["completion of 2 broke"] * 2
    assert completions.runs == [1, 1, 2]


async def test_cancelling_the_computing_member_leaves_the_others_their_result() -> None:
    groups, completions = CompletionGroups(), Completions()
    completions.hold = asyncio.Event()
    a = groups.join(key(), ANCHORS, 1, "a", completions)
    b = groups.join(key(), ANCHORS, 1, "b", completions)
    computing = asyncio.create_task(a.complete(1, {"n": 1}))
    await eventually(lambda: completions.runs == [1], "a to start the completion")
    waiting = asyncio.create_task(b.complete(1, {"n": 1}))  # b is counted in: the event is kept for it
    computing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await computing
    a.leave()
    completions.hold.set()
    result = await waiting
    assert result["data"]["by"] == "a" and completions.runs == [1] and completions.cancelled == 0
    (group,) = groups._groups.values()
    assert group.remembered == 0 and group.size == 1


async def test_a_completion_nobody_will_read_is_cancelled() -> None:
    groups, completions = CompletionGroups(), Completions()
    completions.hold = asyncio.Event()
    a = groups.join(key(), ANCHORS, 1, "a", completions)
    b = groups.join(key(), ANCHORS, 1, "b", completions)
    computing = asyncio.create_task(a.complete(1, {"n": 1}))
    await eventually(lambda: completions.runs == [1], "the completion to start")
    computing.cancel()
    await asyncio.gather(computing, return_exceptions=True)
    a.leave()
    assert completions.cancelled == 0  # kept for b
    b.leave()  # b would have read it
    await eventually(lambda: completions.cancelled == 1, "the orphaned completion to be cancelled")
    assert len(groups) == 0


async def test_a_lone_member_completes_inline_and_its_cancellation_stops_the_completion() -> None:
    groups, completions = CompletionGroups(), Completions()
    alone = groups.join(key(), ANCHORS, 1, "alone", completions)
    assert (await alone.complete(1, {"n": 1}))["data"]["by"] == "alone"
    (group,) = groups._groups.values()
    assert group.remembered == 0
    completions.hold = asyncio.Event()
    computing = asyncio.create_task(alone.complete(2, {"n": 2}))
    await eventually(lambda: completions.runs == [1, 2], "the completion to start")
    computing.cancel()
    await asyncio.gather(computing, return_exceptions=True)
    assert completions.cancelled == 1


async def test_the_memo_is_bounded_by_its_members_and_a_window() -> None:
    groups, completions = CompletionGroups(), Completions()
    fast = groups.join(key(), ANCHORS, 1, "fast", completions)
    slow = groups.join(key(), ANCHORS, 1, "slow", completions)
    late = groups.join(key(), ANCHORS, 3, "late", completions)  # joined after events 1 and 2
    (group,) = groups._groups.values()
    for sequence in (1, 2, 3):
        await fast.complete(sequence, {"n": sequence})
    assert group.remembered == 3  # slow has taken none, late has event 3 to take
    await slow.complete(1, {"n": 1})
    await slow.complete(2, {"n": 2})
    assert group.remembered == 1  # 1 and 2 taken by everyone who gets them (late never does)
    late.leave()  # what it would have taken is no longer kept for it
    await slow.complete(3, {"n": 3})
    assert group.remembered == 0 and completions.runs == [1, 2, 3]
    # slow stops reading: the memo keeps at most the window, and slow completes the rest alone
    for sequence in range(4, 4 + MEMO_WINDOW + 10):
        await fast.complete(sequence, {"n": sequence})
    assert group.remembered == MEMO_WINDOW
    await slow.complete(4, {"n": 4})
    assert completions.runs.count(4) == 2  # out of the window: completed again, for slow alone
    await slow.complete(14, {"n": 14})
    assert completions.runs.count(14) == 1  # in the window: shared
    slow.leave()
    assert group.remembered == 0
    fast.leave()
    assert len(groups) == 0
