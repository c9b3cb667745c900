"""Benchmarks of the products subgraph."""
