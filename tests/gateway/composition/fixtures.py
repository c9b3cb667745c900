"""Hand-written subgraph sets shared by the tests and the reference comparison script."""

from __future__ import annotations

from gateway.composition import SubgraphSource

FED2 = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: [{imports}])\n'


def fed2(sdl: str, *directives: str) -> str:
    """Prefix SDL with a Federation 2 `@link` importing the given directives (e.g. "@key")."""
    return FED2.format(imports=", ".join(f'"{d}"' for d in directives)) + sdl


def sources(*triples: tuple[str, str]) -> list[SubgraphSource]:
    return [SubgraphSource(name, f"http://{name}.local/graphql", sdl) for name, sdl in triples]


PRODUCTS = fed2(
    '''
type Query { topProducts(first: Int = 5): [Product] product(upc: String!): Product }
"""A product in the catalogue"""
type Product @key(fields: "upc") @key(fields: "sku") {
  upc: String!
  sku: String!
  name: String @shareable
  price: Int
  weight: Int
  kind: Kind @shareable
}
enum Kind { BOOK FOOD }
''',
    "@key",
    "@shareable",
)

REVIEWS = fed2(
    """
type Query { review(id: ID!): Review }
type Review @key(fields: "id") {
  id: ID!
  body: String
  author: User @provides(fields: "username")
  product: Product @provides(fields: "name")
}
type User @key(fields: "id") { id: ID! username: String @external reviews: [Review] }
type Product @key(fields: "upc") {
  upc: String!
  name: String @external
  price: Int @external
  weight: Int @external
  reviews: [Review]
  shippingEstimate: Int @requires(fields: "price weight")
  kind: Kind @shareable
}
enum Kind { BOOK TOY }
""",
    "@key",
    "@external",
    "@requires",
    "@provides",
    "@shareable",
)

ACCOUNTS = fed2(
    """
type Query { me: User }
type User @key(fields: "id") { id: ID! username: String @shareable name: Name }
type Name @shareable { first: String last: String }
""",
    "@key",
    "@shareable",
)

# Federation 2: the sub-selection of an @external field is external too, so fields selected *below* an
# external field in @requires / @provides need no @external of their own (only leaves with no external
# field above them do). The value types below are defined without @external in the requiring/providing
# subgraph; `warehouse` / `forum` mark their nested field @external explicitly, which is allowed as well.
FED = ("@key", "@shareable", "@external", "@requires", "@provides")

NESTED_CATALOG = fed2(
    """
type Query { products: [Product!]! }
type Product @key(fields: "upc") { upc: ID! weight: Int! dimensions: Dimensions! packaging: Packaging! }
type Dimensions @shareable { length: Int! width: Int! height: Int! }
interface Packaging { weight: Int! }
type Box implements Packaging @shareable { weight: Int! volume: Int! }
type Envelope implements Packaging @shareable { weight: Int! }
""",
    *FED,
)

NESTED_INVENTORY = fed2(
    """
type Product @key(fields: "upc") {
  upc: ID!
  weight: Int! @external
  dimensions: Dimensions! @external
  packaging: Packaging! @external
  shippingEstimate(zip: String!): Int! @requires(fields: "weight dimensions { length width }")
  deliveryCost: Int! @requires(fields: "weight")
  packagingFee: Int! @requires(fields: "packaging { weight ... on Box { volume } }")
}
type Dimensions @shareable { length: Int! width: Int! height: Int! }
interface Packaging { weight: Int! }
type Box implements Packaging @shareable { weight: Int! volume: Int! }
type Envelope implements Packaging @shareable { weight: Int! }
""",
    *FED,
)

NESTED_SHIPPING = fed2(
    """
type Product @key(fields: "upc") {
  upc: ID!
  deliveryCost: Int! @external
  shippingQuote: String! @requires(fields: "deliveryCost")
}
""",
    *FED,
)

NESTED_WAREHOUSE = fed2(
    """
type Product @key(fields: "upc") {
  upc: ID!
  dimensions: Dimensions! @external
  shelfSpace: Int! @requires(fields: "dimensions { height }")
}
type Dimensions { height: Int! @external }
""",
    *FED,
)

NESTED_ACCOUNTS = fed2(
    """
type Query { me: User }
type User @key(fields: "id") { id: ID! name: String! username: String! @shareable address: Address @shareable }
type Address @shareable { city: String! street: String! }
""",
    *FED,
)

NESTED_REVIEWS = fed2(
    """
type Query { latestReviews: [Review!]! }
type Review { id: ID! body: String! author: User! @provides(fields: "username address { city }") }
type User @key(fields: "id") { id: ID! username: String! @external address: Address @external }
type Address @shareable { city: String! }
""",
    *FED,
)

NESTED_FORUM = fed2(
    """
type Query { posts: [Post!]! }
type Post { id: ID! author: User! @provides(fields: "address { street }") }
type User @key(fields: "id") { id: ID! address: Address @external }
type Address { street: String! @external }
""",
    *FED,
)

FIXTURES: dict[str, list[SubgraphSource]] = {
    "basic": sources(("products", PRODUCTS), ("reviews", REVIEWS), ("accounts", ACCOUNTS)),
    "fed1": sources(
        (
            "products",
            """
type Query { topProducts: [Product] }
type Product @key(fields: "upc") { upc: String! name: String price: Int }
""",
        ),
        (
            "inventory",
            """
extend type Product @key(fields: "upc") {
  upc: String! @external
  price: Int @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price")
}
""",
        ),
    ),
    "override": sources(
        (
            "a",
            fed2(
                """
type Query { p: Product }
type Product @key(fields: "id") @key(fields: "label") { id: ID! name: String total: Int label: String! }
""",
                "@key",
            ),
        ),
        (
            "b",
            fed2(
                """
type Product @key(fields: "id") {
  id: ID!
  name: String @override(from: "a")
  total: Int @override(from: "a", label: "percent(25)")
}
""",
                "@key",
                "@override",
            ),
        ),
        (
            "c",
            fed2(
                """
type Product @key(fields: "id") { id: ID! label: String! @override(from: "a") }
""",
                "@key",
                "@override",
            ),
        ),
    ),
    "interface_object": sources(
        (
            "media",
            fed2(
                """
type Query { media: [Media] }
interface Media @key(fields: "id") { id: ID! title: String }
type Book implements Media @key(fields: "id") { id: ID! title: String pages: Int }
type Movie implements Media @key(fields: "id") { id: ID! title: String minutes: Int }
""",
                "@key",
            ),
        ),
        (
            "reviews",
            fed2(
                """
type Media @key(fields: "id") @interfaceObject { id: ID! rating: Int }
""",
                "@key",
                "@interfaceObject",
            ),
        ),
    ),
    "type_merging": sources(
        (
            "a",
            fed2(
                """
type Query { node(id: ID!): Node search(filter: Filter, limit: Int = 10): [Result!]! color(c: Color): String }
interface Node { id: ID! }
type Item implements Node @key(fields: "id") { id: ID! size: Int! @shareable tags: [String!] @shareable }
type Other { x: Int }
union Result = Item | Other
input Filter { text: String! extra: Int onlyA: Boolean }
enum Color { RED GREEN BLUE }
""",
                "@key",
                "@shareable",
            ),
        ),
        (
            "b",
            fed2(
                """
type Query { items: [Item] @shareable }
type Item @key(fields: "id") { id: ID! size: Int @shareable tags: [String] @shareable }
type Third { y: Int }
union Result = Item | Third
input Filter { text: String extra: Int! }
enum Color { RED GREEN }
""",
                "@key",
                "@shareable",
            ),
        ),
    ),
    "renames": sources(
        (
            "a",
            """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5",
  import: [{name: "@key", as: "@primaryKey"}, "@shareable"])
type Query { t: T }
type T @primaryKey(fields: "id") { id: ID! a: Int @federation__tag(name: "internal") }
""",
        ),
        (
            "b",
            """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", as: "fed", import: ["@key"])
type T @key(fields: "id") { id: ID! b: Int @fed__inaccessible c: Int @fed__shareable }
type Query { other: Int }
""",
        ),
    ),
    "keys": sources(
        (
            "a",
            fed2(
                """
type Query { orders: [Order] }
type Order @key(fields: "id customer { id }") @key(fields: "number") {
  id: ID!
  number: String!
  customer: Customer!
  total: Int
}
type Customer @key(fields: "id") { id: ID! }
""",
                "@key",
            ),
        ),
        (
            "b",
            fed2(
                """
type Order @key(fields: "id customer { id }") { id: ID! customer: Customer! status: String }
type Customer @key(fields: "id", resolvable: false) { id: ID! }
""",
                "@key",
            ),
        ),
    ),
    "decorations": sources(
        (
            "a",
            fed2(
                '''
type Query {
  """Fetch one"""
  thing(id: ID! @tag(name: "arg")): Thing @deprecated(reason: "use things")
  things: [Thing] @tag(name: "public")
}
type Thing @key(fields: "id") @tag(name: "entity") {
  id: ID!
  old: String @deprecated
  hidden: String @inaccessible
  state: State
}
enum State { ON OFF @inaccessible }
scalar DateTime @specifiedBy(url: "https://example.com/datetime")
type Stamp { at: DateTime }
''',
                "@key",
                "@tag",
                "@inaccessible",
            ),
        ),
        (
            "b",
            fed2(
                """
type Thing @key(fields: "id") { id: ID! created: String @tag(name: "b") }
""",
                "@key",
                "@tag",
            ),
        ),
    ),
    "root_rename": sources(
        (
            "a",
            fed2(
                """
schema { query: RootQuery mutation: RootMutation }
type RootQuery { hello: String }
type RootMutation { setHello(v: String!): String }
""",
            ),
        ),
        ("b", fed2("type Query { bye: String }\ntype Mutation { setBye(v: String!): String }")),
    ),
    "provides_and_entity_interface": sources(
        (
            "accounts",
            fed2(
                """
type Query { me: User }
interface Account @key(fields: "id") { id: ID! name: String }
type User implements Account @key(fields: "id") { id: ID! name: String @shareable email: String }
type Admin implements Account @key(fields: "id") { id: ID! name: String @shareable }
""",
                "@key",
                "@shareable",
            ),
        ),
        (
            "billing",
            fed2(
                """
type Query { accounts: [Account] }
type Account @key(fields: "id") @interfaceObject { id: ID! balance: Int }
""",
                "@key",
                "@interfaceObject",
            ),
        ),
        (
            "reviews",
            fed2(
                """
type Query { reviews: [Review] }
type Review { id: ID! author: User @provides(fields: "name") }
type User @key(fields: "id") { id: ID! name: String @external reviews: [Review] }
""",
                "@key",
                "@external",
                "@provides",
            ),
        ),
    ),
    "mutations_and_subscriptions": sources(
        (
            "a",
            fed2(
                """
type Query { item(id: ID!): Item }
type Mutation { addItem(name: String!): Item }
type Subscription { itemAdded: Item }
type Item @key(fields: "id") { id: ID! name: String }
""",
                "@key",
            ),
        ),
        (
            "b",
            fed2(
                """
type Mutation { rateItem(id: ID!, stars: Int!): Item }
type Item @key(fields: "id") { id: ID! stars: Float }
""",
                "@key",
            ),
        ),
    ),
    "fed1_mixed": sources(
        (
            "accounts",
            """
extend type Query { me: User }
type User @key(fields: "id") { id: ID! name: String username: String address: Address }
type Address { city: String }
""",
        ),
        (
            "reviews",
            """
type Review @key(fields: "id") { id: ID! body: String author: User @provides(fields: "username") }
extend type User @key(fields: "id") {
  id: ID! @external
  username: String @external
  unusedExternal: Int @external
  reviews: [Review]
}
type Address { city: String }
extend type Query { topReviews: [Review] }
""",
        ),
        (
            "modern",
            fed2(
                """
type User @key(fields: "id") { id: ID! karma: Int }
""",
                "@key",
            ),
        ),
    ),
    "nested_requires": sources(
        ("catalog", NESTED_CATALOG),
        ("inventory", NESTED_INVENTORY),
        ("shipping", NESTED_SHIPPING),
        ("warehouse", NESTED_WAREHOUSE),
    ),
    "nested_provides": sources(("accounts", NESTED_ACCOUNTS), ("reviews", NESTED_REVIEWS), ("forum", NESTED_FORUM)),
}

ERROR_FIXTURES: dict[str, list[SubgraphSource]] = {
    "field_type_mismatch": sources(
        ("a", fed2("type Query { t: T }\ntype T @shareable { x: Int }", "@shareable")),
        ("b", fed2("type Query { u: T }\ntype T @shareable { x: String }", "@shareable")),
    ),
    "invalid_field_sharing": sources(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! name: String }', "@key")),
        ("b", fed2('type Product @key(fields: "id") { id: ID! name: String }', "@key")),
    ),
    "key_invalid_fields": sources(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "upc") { id: ID! }', "@key")),
    ),
    "key_invalid_type": sources(
        (
            "a",
            fed2(
                'type Query { p: Product }\ntype Product @key(fields: "node") { node: Node }\n'
                "interface Node { id: ID! }",
                "@key",
            ),
        ),
    ),
    "external_unused": sources(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! x: Int }', "@key")),
        (
            "b",
            fed2('type Product @key(fields: "id") { id: ID! x: Int @external y: Int }', "@key", "@external"),
        ),
    ),
    "requires_unknown": sources(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! x: Int }', "@key")),
        (
            "b",
            fed2(
                'type Product @key(fields: "id") { id: ID! y: Int @requires(fields: "nope") }',
                "@key",
                "@requires",
            ),
        ),
    ),
    "provides_unknown": sources(
        ("a", fed2('type Query { p: Product @provides(fields: "nope") }\ntype Product { id: ID! }', "@provides")),
    ),
    "unsatisfiable": sources(
        ("a", fed2("type Query { t: T }\ntype T @shareable { id: ID! }", "@shareable")),
        ("b", fed2("type Query { u: Int }\ntype T @shareable { id: ID! extra: Int }", "@shareable")),
    ),
    "unsatisfiable_entity": sources(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! }', "@key")),
        (
            "b",
            fed2('type Product @key(fields: "id", resolvable: false) { id: ID! price: Int }', "@key"),
        ),
    ),
    "enum_mismatch": sources(
        ("a", fed2("type Query { c(arg: Color): Color }\nenum Color { RED GREEN }")),
        ("b", fed2("type Query { d: Color }\nenum Color { RED BLUE }")),
    ),
    "kind_mismatch": sources(
        ("a", fed2("type Query { t: T }\ntype T { x: Int }")),
        ("b", fed2("type Query { u: T }\ninterface T { x: Int }")),
    ),
    "required_arg_missing": sources(
        ("a", fed2("type Query { t(a: Int!): Int @shareable }", "@shareable")),
        ("b", fed2("type Query { t: Int @shareable }", "@shareable")),
    ),
    # A top-level field of @requires must be @external; being nested elsewhere does not help it.
    "requires_missing_external": sources(
        ("catalog", NESTED_CATALOG),
        (
            "inventory",
            NESTED_INVENTORY.replace("weight: Int! @external", "weight: Int! @shareable"),
        ),
    ),
    # Likewise for @provides, even when the field is @shareable.
    "provides_missing_external": sources(
        ("accounts", NESTED_ACCOUNTS),
        ("reviews", NESTED_REVIEWS.replace("username: String! @external", "username: String! @shareable")),
    ),
}
