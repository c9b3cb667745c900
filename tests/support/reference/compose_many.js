// Compose several subgraph sets with the reference composer (@apollo/composition), in one process.
//   node compose_many.js NODE_MODULES < {"set name": [{name, url, sdl}], ...}
// stdout: {"set name": {"supergraph": SDL} | {"errors": [{code, message}]}, ...}
const path = require("path");
const modules = process.argv[2];
const { composeServices } = require(path.join(modules, "@apollo/composition"));
const { parse } = require(path.join(modules, "graphql"));

function composeOne(subgraphs) {
  try {
    const services = subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }));
    const result = composeServices(services);
    if (result.errors) {
      return { errors: result.errors.map((e) => ({ code: (e.extensions && e.extensions.code) || null, message: e.message })) };
    }
    return { supergraph: result.supergraphSdl };
  } catch (e) {
    return { errors: [{ code: "EXCEPTION", message: String(e && e.message) }] };
  }
}

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const sets = JSON.parse(input);
  const out = {};
  for (const [name, subgraphs] of Object.entries(sets)) out[name] = composeOne(subgraphs);
  process.stdout.write(JSON.stringify(out));
});
