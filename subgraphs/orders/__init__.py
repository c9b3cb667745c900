"""The orders subgraph: checkout saga, order status machine and live order status subscriptions."""
