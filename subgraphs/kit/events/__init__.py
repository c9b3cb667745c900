"""The event bus: an envelope, typed event classes, a Redis Streams publisher and consumer, an outbox,
the stream's retention and its per-group statistics (see docs/events.md)."""

from subgraphs.kit.events.bus import EVENTS_STREAM, EventBus
from subgraphs.kit.events.consumer import EventConsumer
from subgraphs.kit.events.envelope import Event
from subgraphs.kit.events.outbox import OutboxRelay, outbox_entry
from subgraphs.kit.events.retention import RetentionPolicy, StreamRetention
from subgraphs.kit.events.stats import GroupStats, StreamStats, stream_stats

__all__ = [
    "EVENTS_STREAM",
    "Event",
    "EventBus",
    "EventConsumer",
    "GroupStats",
    "OutboxRelay",
    "RetentionPolicy",
    "StreamRetention",
    "StreamStats",
    "outbox_entry",
    "stream_stats",
]
