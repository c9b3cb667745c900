// Compose subgraphs with the reference composer (@apollo/composition).
// argv[2]: the node_modules folder it is installed in (scripts/install_reference.py).
// stdin: JSON [{name, url, sdl}]; stdout: supergraph SDL; exit 1 with the errors on failure.
const path = require("path");
const modules = process.argv[2];
const { composeServices } = require(path.join(modules, "@apollo/composition"));
const { parse } = require(path.join(modules, "graphql"));

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const services = JSON.parse(input).map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }));
  const result = composeServices(services);
  if (result.errors) {
    process.stderr.write(result.errors.map((e) => e.message).join("\n") + "\n");
    process.exit(1);
  }
  process.stdout.write(result.supergraphSdl);
});
