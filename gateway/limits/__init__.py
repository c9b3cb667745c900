"""Operation limits every transport applies before any subgraph fetch, and off-loop preparation.

`analysis` measures an operation (depth, aliases, root fields, expanded fields, estimated cost),
`costs` reads the supergraph's `@cost`/`@listSize`, `checks` turns a measurement into a refusal,
`offload` prepares fresh documents in bounded worker threads. The settings are
:class:`gateway.config.OperationLimits`.
"""
