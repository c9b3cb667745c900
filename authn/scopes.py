"""Every scope a service checks, with what it allows: the reference `python -m gateway token --help`
prints. The services define their own constants; a test keeps this list in step with them."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "catalog:write": "products: create, update and archive products, set stock; read any user's cart",
    "inventory:write": "products: reserve, release and commit stock for an order (orders' service token)",
    "orders:admin": "orders: read every order, list all orders, fulfil paid orders; read their payments",
    "payments:admin": "payments: read any payment, refund, reconcile, provider health",
    "notifications:admin": "notifications: read any user's notifications and preferences",
}


def describe_scopes(indent: str = "  ") -> str:
    """One line per scope, for help texts."""
    width = max(len(name) for name in SCOPES)
    return "\n".join(f"{indent}{name.ljust(width)}  {text}" for name, text in SCOPES.items())
