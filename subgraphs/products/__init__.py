"""The products subgraph: catalog, carts and inventory, with Redis-cached catalog reads."""
