"""Access-control directives enforced at the gateway: `@authenticated`, `@requiresScopes`, `@policy`.

`model` reads the requirements from the supergraph, `policies` decides `@policy` names (pluggable),
`filter` removes the unauthorized fields of an operation before planning, and `operation` keeps the
filtered variants of a prepared operation (and their plans) per authorization outcome.
"""
