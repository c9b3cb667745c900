"""The event bus: an envelope, typed event classes, a Redis Streams publisher and consumer, an outbox."""

from subgraphs.kit.events.bus import EVENTS_STREAM, EventBus
from subgraphs.kit.events.consumer import EventConsumer
from subgraphs.kit.events.envelope import Event
from subgraphs.kit.events.outbox import OutboxRelay, outbox_entry

__all__ = ["EVENTS_STREAM", "Event", "EventBus", "EventConsumer", "OutboxRelay", "outbox_entry"]
