"""The fixed text of the link / join v0.5 / tag / inaccessible definitions in a supergraph."""

from __future__ import annotations

LINK_URL = "https://specs.apollo.dev/link/v1.0"
JOIN_URL = "https://specs.apollo.dev/join/v0.5"
TAG_URL = "https://specs.apollo.dev/tag/v0.3"
INACCESSIBLE_URL = "https://specs.apollo.dev/inaccessible/v0.2"

_ELEMENT_LOCATIONS = (
    "FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE"
    " | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
)

# name -> definition; printed sorted by name, like the reference composer does.
CORE_DIRECTIVES = {
    "join__directive": "directive @join__directive(graphs: [join__Graph!], name: String!, "
    "args: join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION",
    "join__enumValue": "directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE",
    "join__field": "directive @join__field(graph: join__Graph, requires: join__FieldSet, "
    "provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean, "
    "overrideLabel: String, contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION "
    "| INPUT_FIELD_DEFINITION",
    "join__graph": "directive @join__graph(name: String!, url: String!) on ENUM_VALUE",
    "join__implements": "directive @join__implements(graph: join__Graph!, interface: String!) "
    "repeatable on OBJECT | INTERFACE",
    "join__type": "directive @join__type(graph: join__Graph!, key: join__FieldSet, "
    "extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) "
    "repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR",
    "join__unionMember": "directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION",
    "link": "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA",
}
TAG_DIRECTIVE = f"directive @tag(name: String!) repeatable on {_ELEMENT_LOCATIONS} | SCHEMA"
INACCESSIBLE_DIRECTIVE = f"directive @inaccessible on {_ELEMENT_LOCATIONS}"
COST_URL = "https://specs.apollo.dev/cost/v0.1"
COST_DIRECTIVE = (
    "directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION"
    " | OBJECT | SCALAR"
)
LIST_SIZE_DIRECTIVE = (
    "directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!],"
    " requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION"
)
AUTHENTICATED_URL = "https://specs.apollo.dev/authenticated/v0.1"
REQUIRES_SCOPES_URL = "https://specs.apollo.dev/requiresScopes/v0.1"
POLICY_URL = "https://specs.apollo.dev/policy/v0.1"
_AUTH_LOCATIONS = "FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM"
AUTHENTICATED_DIRECTIVE = f"directive @authenticated on {_AUTH_LOCATIONS}"
REQUIRES_SCOPES_DIRECTIVE = f"directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on {_AUTH_LOCATIONS}"
POLICY_DIRECTIVE = f"directive @policy(policies: [[policy__Policy!]!]!) on {_AUTH_LOCATIONS}"
CONTEXT_URL = "https://specs.apollo.dev/context/v0.1"
CONTEXT_DIRECTIVE = "directive @context(name: String!) repeatable on INTERFACE | OBJECT | UNION"
FROM_CONTEXT_DIRECTIVE = "directive @context__fromContext(field: context__ContextFieldValue) on ARGUMENT_DEFINITION"

# name -> definition of the spec types (joined into the alphabetical type listing).
CORE_TYPES = {
    "join__ContextArgument": "input join__ContextArgument {\n  name: String!\n  type: String!\n"
    "  context: String!\n  selection: join__FieldValue!\n}",
    "join__DirectiveArguments": "scalar join__DirectiveArguments",
    "join__FieldSet": "scalar join__FieldSet",
    "join__FieldValue": "scalar join__FieldValue",
    "link__Import": "scalar link__Import",
    "link__Purpose": 'enum link__Purpose {\n  """\n  `SECURITY` features provide metadata necessary to securely '
    'resolve fields.\n  """\n  SECURITY\n\n  """\n  `EXECUTION` features provide metadata necessary for '
    'operation execution.\n  """\n  EXECUTION\n}',
}
