"""The in-process tier of the whole-response cache: a hit without a Redis round trip.

Redis (:mod:`.store`) stays the truth every gateway instance shares. Each instance also keeps the
responses it served recently in memory, kept fresh through Redis pub/sub: the transaction that applies
an invalidation publishes the dependencies it bumped (:mod:`.tags`: subgraphs, their tags) on
`<prefix>invalidated`, and every instance's listener (:mod:`.listener`) bumps its local epoch of each.
An entry is stamped with the epochs of its dependencies, taken *before* its shared lookup or fetch
starts, and counts only while they are unchanged, so a fetch that raced an invalidation is never
served from here afterwards.

The tier serves only while the listener is subscribed. Pub/sub does not queue messages for a
disconnected client, so on a disconnect the tier is cleared and bypassed; a new session (a new stamp)
starts once subscribed again. The instance that applies an invalidation bumps its own epochs before it
answers; another instance may serve a dropped entry only until the message reaches it (the pub/sub
delivery time, well under a millisecond on one network).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .tags import vouching

Stamp = tuple[int, ...]
# Epochs of this many dependencies (tags accumulate): past it the tier starts a new session
MAX_EPOCHS = 100_000


class LocalHit(NamedTuple):
    body: bytes
    expires_ms: int
    scope: int  # which of the scopes asked for it was (0: the first)


class _Entry(NamedTuple):
    body: bytes
    expires_ms: int
    stamp: Stamp


class LocalResponses:
    """Whole responses by (digest, scope), least recently used first out past `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, bytes], _Entry] = OrderedDict()
        self._bytes = 0
        self._epochs: dict[str, int] = {}
        self._session = 0
        self.live = False  # subscribed to the invalidations: only then is anything served or kept

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def stamp(self, dependencies: Sequence[str]) -> Stamp | None:
        """The current stamp of a response with `dependencies`; None while the tier is not live."""
        if not self.live:
            return None
        epochs = self._epochs
        return (self._session, *[epochs.get(name, 0) for name in dependencies])

    def restamp(self, stamp: Stamp, read: Sequence[str], wanted: Sequence[str]) -> Stamp | None:
        """The stamp of `wanted` as of the moment `stamp` was taken of `read`, when that read vouches
        for each of them (:func:`.tags.vouching`) and what vouches is unchanged since; else None."""
        if not self.live or not stamp or stamp[0] != self._session:
            return None
        known = dict(zip(read, stamp[1:], strict=True))
        epochs = self._epochs
        for name in wanted:
            voucher = vouching(name, known)
            if voucher is None or epochs.get(voucher, 0) != known[voucher]:
                return None
        return self.stamp(wanted)

    def get(self, digest: str, scopes: Sequence[bytes], stamp: Stamp) -> LocalHit | None:
        """The first live entry among `scopes` whose stamp is `stamp` (None: a miss)."""
        now_ms = int(time.time() * 1000)
        entries = self._entries
        for index, scope in enumerate(scopes):
            key = (digest, scope)
            entry = entries.get(key)
            if entry is None:
                continue
            if entry.stamp != stamp or entry.expires_ms <= now_ms:
                self._drop(key, entry)
                continue
            entries.move_to_end(key)
            return LocalHit(entry.body, entry.expires_ms, index)
        return None

    def put(self, digest: str, scope: bytes, body: bytes, expires_ms: int, stamp: Stamp,
            dependencies: Sequence[str]) -> None:
        """Keep `body`, fetched under `stamp`, unless one of its `dependencies` was invalidated since."""
        size = len(body) + len(digest) + 64
        if size > self.max_bytes or stamp != self.stamp(dependencies) or expires_ms <= int(time.time() * 1000):
            return
        key = (digest, scope)
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body) + len(digest) + 64
        self._entries[key] = _Entry(body, expires_ms, stamp)
        self._bytes += size
        while self._bytes > self.max_bytes:
            oldest, entry = next(iter(self._entries.items()))
            self._drop(oldest, entry)

    def bump(self, dependencies: Iterable[str]) -> None:
        """An invalidation bumped `dependencies`: every entry with one of them is void."""
        epochs = self._epochs
        for name in dependencies:
            epochs[name] = epochs.get(name, 0) + 1
        if len(epochs) > MAX_EPOCHS:  # a new session voids every stamp taken before: epochs may restart
            epochs.clear()
            self.reset(live=self.live)

    def reset(self, *, live: bool) -> None:
        """Drop everything and start a new session (stamps of the old one never match again)."""
        self._entries.clear()
        self._bytes = 0
        self._session += 1
        self.live = live

    def _drop(self, key: tuple[str, bytes], entry: _Entry) -> None:
        del self._entries[key]
        self._bytes -= len(entry.body) + len(key[0]) + 64
