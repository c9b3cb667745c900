"""Channel transports: how a rendered message leaves the service (SMTP or .eml files, HTTP webhooks,
and pluggable SMS/push providers whose development default records the message)."""

from subgraphs.notifications.transports.base import DeliveryError, OutgoingMessage, Transport
from subgraphs.notifications.transports.registry import build_transports

__all__ = ["DeliveryError", "OutgoingMessage", "Transport", "build_transports"]
