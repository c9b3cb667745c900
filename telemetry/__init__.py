"""Observability mechanics shared by the gateway and the services (imports neither)."""
