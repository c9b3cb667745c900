// Benchmark fixture subgraphs: a dependency-free Node.js HTTP server answering with precomputed
// JSON, so the upstream costs (almost) nothing and the benchmark measures the gateway.
//   node subgraphs.js PRODUCTS_PORT REVIEWS_PORT
// products answers the root query (topProducts); reviews answers _entities for Product.
// CACHE_CONTROL (environment): the Cache-Control header of every answer (none by default).
"use strict";
const http = require("http");

const N = 5;
const products = [];
for (let i = 1; i <= N; i++) {
  products.push({ __typename: "Product", upc: String(i), name: `Product ${i}`, price: 100 * i });
}
const rootBody = JSON.stringify({ data: { topProducts: products } });
const reviewsByUpc = {};
for (const p of products) {
  reviewsByUpc[p.upc] = {
    __typename: "Product",
    upc: p.upc,
    reviews: [1, 2, 3].map((j) => ({ __typename: "Review", body: `Review ${j} of ${p.upc}`, author: `user${j}` })),
  };
}

function collect(req, done) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => done(Buffer.concat(chunks).toString("utf8")));
}

const cacheControl = process.env.CACHE_CONTROL;

function reply(res, body) {
  const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
  if (cacheControl) headers["cache-control"] = cacheControl;
  res.writeHead(200, headers);
  res.end(body);
}

function representationsOf(request) {
  for (const value of Object.values(request.variables || {})) {
    if (Array.isArray(value)) return value;
  }
  return [];
}

function serve(port, handler) {
  const server = http.createServer((req, res) => {
    if (req.method === "GET") { reply(res, '{"status":"ok"}'); return; }
    collect(req, (raw) => {
      let request;
      try { request = JSON.parse(raw); } catch { res.writeHead(400); res.end(); return; }
      reply(res, handler(request));
    });
  });
  server.keepAliveTimeout = 60000;
  server.listen(port, "127.0.0.1");
}

serve(Number(process.argv[2]), () => rootBody);
serve(Number(process.argv[3]), (request) => {
  const entities = representationsOf(request).map((r) => reviewsByUpc[r.upc] || null);
  return JSON.stringify({ data: { _entities: entities } });
});
process.on("SIGTERM", () => process.exit(0));
