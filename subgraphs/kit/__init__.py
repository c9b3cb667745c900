"""The small shared service kit: mechanics every subgraph service needs, and no domain logic."""
