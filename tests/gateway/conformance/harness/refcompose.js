// Dev check only: compose subgraphs with the reference composer (@apollo/composition).
// stdin: JSON [{name, url, sdl}]; stdout: supergraph SDL; exit 1 with the errors on failure.
const path = require("path");
const dir = process.env.REFCOMPOSE_DIR || "/tmp/refcompose";
const { composeServices } = require(path.join(dir, "node_modules/@apollo/composition"));
const { parse } = require(path.join(dir, "node_modules/graphql"));

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
