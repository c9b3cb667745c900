"""The notifications subgraph: templated notifications per event and channel, delivered on an arq queue."""
