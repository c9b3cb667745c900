"""Shared completion of subscription events: clients whose results cannot differ complete an event once.

Clients of one shared upstream (hub.py) whose completion would be identical, because they have the
same prepared operation and plan, authorization variant, coerced variables and the headers that
may change a subgraph's answer (Authorization and FORWARD_HEADERS), are the members of one
:class:`CompletionGroup` (:class:`CompletionKey`). The first member to reach an event starts its
completion in a task of its own; every member, that one too, awaits the task through
`asyncio.shield`, so the result (or the exception) reaches all of them, and a member cancelled
while it waits (its client left) cancels nothing the others need. An event's memo is dropped once
every member that gets the event has taken it (or left), and at the latest when it falls out of
the group's last :data:`MEMO_WINDOW` events: a member that far behind completes it again, alone.
A member alone in its group completes inline: no one else can need the event.

A completion belongs to no one client request, so the per-request identity headers (X-Request-ID,
traceparent, tracestate) are not in the key, and its fetches carry none of a client's: the engine
gives them an X-Request-ID of the group's own (:meth:`CompletionGroup.request_id`), and with tracing
on their parent is the completion's own span (gateway.tracing.completing_event).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from .executor import ExecutionResult

logger = logging.getLogger("gateway.subscriptions.sharing")

MEMO_WINDOW = 64  # events whose completion a group remembers for members that are behind
_unique = itertools.count()

# (event number, raw event, the member's link: its subscribe span) -> the completed result
Completer = Callable[[int, ExecutionResult, Any], Coroutine[Any, Any, ExecutionResult]]


@dataclass(frozen=True, slots=True)
class CompletionKey:
    """What makes two clients' completions of the same event identical.

    The operation, plan and variant are compared by identity (the group keeps them alive): plans are
    cached per operation and authorization variant, so equal requests get the very same objects,
    and an operation prepared again (evicted from the plan cache) only starts a group of its own.
    """

    upstream: object  # the hub's running upstream: the same events, numbered alike
    operation: int  # id() of the PreparedOperation (document + operation name: the response shape)
    plan: int  # id() of the QueryPlan (override labels, the authorization variant's selections)
    variant: int | None  # id() of the AuthorizedVariant (its errors); None: everything allowed
    variables: str | int  # canonical JSON of the coerced variables (int: not JSON, shared with no one)
    headers: tuple[tuple[str, str], ...]  # forwarded to the entity fetches, per-request ones left out

    @classmethod
    def of(
        cls,
        upstream: object,
        anchors: tuple[object, object, object | None],
        variables: Mapping[str, Any],
        headers: Mapping[str, str],
    ) -> CompletionKey:
        """`anchors`: the prepared operation, its plan and the authorization variant (or None)."""
        operation, plan, variant = anchors
        return cls(
            upstream,
            id(operation),
            id(plan),
            None if variant is None else id(variant),
            _canonical(variables),
            tuple(sorted(headers.items())),
        )


def _canonical(variables: Mapping[str, Any]) -> str | int:
    try:
        return json.dumps(variables, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return next(_unique)  # such a client completes alone rather than risk a wrong match


class _Memo:
    __slots__ = ("task", "waiting")

    def __init__(self, task: asyncio.Task[ExecutionResult], waiting: int) -> None:
        self.task = task
        self.waiting = waiting  # members that will still take it


class GroupMember:
    """One client's place in a group; events must be completed in the order the hub numbered them."""

    __slots__ = ("first", "group", "last", "left", "link")

    def __init__(self, group: CompletionGroup, first_sequence: int, link: Any) -> None:
        self.group = group
        self.first = first_sequence  # the first event it gets
        self.last = first_sequence - 1  # the last event it took
        self.link = link
        self.left = False

    async def complete(self, sequence: int, event: ExecutionResult) -> ExecutionResult:
        """The completed result of event `sequence` (computed by whichever member asked first)."""
        return await self.group.complete(self, sequence, event)

    def leave(self) -> None:
        self.group.leave(self)


class CompletionGroup:
    def __init__(self, registry: CompletionGroups, key: CompletionKey, anchors: tuple[object, ...]) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.key = key
        self.anchors = anchors  # keeps the objects whose ids are in the key alive
        self.completer: Completer | None = None
        self._registry = registry
        self._members: set[GroupMember] = set()
        self._memo: dict[int, _Memo] = {}

    @property
    def size(self) -> int:
        return len(self._members)

    @property
    def remembered(self) -> int:
        """Events whose completion is kept for members that have not taken it yet."""
        return len(self._memo)

    def request_id(self, sequence: int) -> str:
        """The X-Request-ID of the fetches that complete event `sequence`."""
        return f"subscription-{self.id}-{sequence}"

    def join(self, first_sequence: int, link: Any) -> GroupMember:
        member = GroupMember(self, first_sequence, link)
        self._members.add(member)
        return member

    async def complete(self, member: GroupMember, sequence: int, event: ExecutionResult) -> ExecutionResult:
        assert self.completer is not None
        memo = self._memo.get(sequence)
        if memo is None and len(self._members) == 1:
            # Alone: no one else gets this event (a member joining now starts after it), so no task
            # and no memo, about 10 µs an event.
            member.last = max(member.last, sequence)
            return await self.completer(sequence, event, member.link)
        if memo is None:
            waiting = sum(1 for m in self._members if m.first <= sequence and m.last < sequence)
            task: asyncio.Task[ExecutionResult] = asyncio.create_task(
                self.completer(sequence, event, member.link), name=f"subscription-event:{self.id}:{sequence}"
            )
            task.add_done_callback(_retrieve)
            memo = self._memo[sequence] = _Memo(task, max(waiting, 1))
            if len(self._memo) > MEMO_WINDOW:  # the oldest event goes: its waiters hold it, laggards compute again
                del self._memo[min(self._memo)]
        try:
            return await asyncio.shield(memo.task)
        finally:
            member.last = max(member.last, sequence)
            self._release(sequence, memo)

    def _release(self, sequence: int, memo: _Memo) -> None:
        memo.waiting -= 1
        if memo.waiting > 0:
            return
        if self._memo.get(sequence) is memo:
            del self._memo[sequence]
        if not memo.task.done():  # nobody is left to read it
            memo.task.cancel()

    def leave(self, member: GroupMember) -> None:
        if member.left:
            return
        member.left = True
        self._members.discard(member)
        for sequence, memo in list(self._memo.items()):
            if member.first <= sequence and member.last < sequence:
                self._release(sequence, memo)
        if not self._members:
            self._registry._forget(self)
            for memo in self._memo.values():
                memo.task.cancel()
            self._memo.clear()


class CompletionGroups:
    """The groups with members now, by :class:`CompletionKey`."""

    def __init__(self) -> None:
        self._groups: dict[CompletionKey, CompletionGroup] = {}

    def __len__(self) -> int:
        return len(self._groups)

    def group(self, key: CompletionKey) -> CompletionGroup | None:
        return self._groups.get(key)

    def join(
        self,
        key: CompletionKey,
        anchors: tuple[object, ...],
        first_sequence: int,
        link: Any,
        completer: Callable[[CompletionGroup], Completer],
    ) -> GroupMember:
        """Join the group of `key` from event `first_sequence` on; a new group completes events with
        `completer(group)` (built from the founding member's request: every member's is equivalent)."""
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = CompletionGroup(self, key, anchors)
            group.completer = completer(group)
            logger.debug("subscription completion group %s started", group.id)
        return group.join(first_sequence, link)

    def _forget(self, group: CompletionGroup) -> None:
        if self._groups.get(group.key) is group:
            del self._groups[group.key]


def _retrieve(task: asyncio.Task[ExecutionResult]) -> None:
    """Mark a failed completion's exception as seen (its members got it, or none was left)."""
    if not task.cancelled():
        task.exception()
