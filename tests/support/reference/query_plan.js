// The reference query planner: @apollo/query-planner's plan of one operation on a supergraph.
//   node query_plan.js NODE_MODULES < {"supergraph": SDL, "query": TEXT}
// stdout: the plan's node as JSON (Apollo's QueryPlan format, without the parsed documents).
// Every linked feature is accepted (as Apollo Router does), so SECURITY features plan too.
const path = require("path");
const modules = process.argv[2];
const { QueryPlanner } = require(path.join(modules, "@apollo/query-planner"));
const { Supergraph, operationFromDocument } = require(path.join(modules, "@apollo/federation-internals"));
const { parse } = require(path.join(modules, "graphql"));

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const { supergraph, query } = JSON.parse(input);
  const graph = Supergraph.build(supergraph, { supportedFeatures: null });
  const plan = new QueryPlanner(graph).buildQueryPlan(operationFromDocument(graph.schema, parse(query)));
  process.stdout.write(JSON.stringify(plan.node || null, (key, value) => (key === "operationDocumentNode" ? undefined : value)));
});
