// The reference gateway: @apollo/gateway on a static supergraph, served by @apollo/server.
//   node apollo_gateway.js NODE_MODULES SUPERGRAPH_FILE PORT
// POST /graphql answers GraphQL over HTTP (JSON; multipart/mixed for @defer when the client accepts
// it); GET /ready answers 200 once the gateway has loaded the supergraph. Client headers are
// forwarded to the subgraphs, as our gateway's header rules would.
const fs = require("fs");
const http = require("http");
const path = require("path");

const [modules, supergraphFile, port] = process.argv.slice(2);
const { ApolloServer, HeaderMap } = require(path.join(modules, "@apollo/server"));
const { ApolloGateway, RemoteGraphQLDataSource } = require(path.join(modules, "@apollo/gateway"));

class ForwardingSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const [name, value] of Object.entries(context.headers || {})) {
      if (name === "authorization" || name.startsWith("x-")) request.http.headers.set(name, value);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: fs.readFileSync(supergraphFile, "utf8"),
  buildService: ({ url }) => new ForwardingSource({ url }),
});
const server = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });

async function main() {
  await server.start();
  http
    .createServer(async (req, res) => {
      if (req.url === "/ready" || req.url === "/health") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"status":"ok"}');
        return;
      }
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const raw = Buffer.concat(chunks).toString("utf8");
      const headers = new HeaderMap();
      for (const [name, value] of Object.entries(req.headers)) headers.set(name, String(value));
      const url = new URL(req.url, "http://127.0.0.1");
      let body;
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch (error) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ errors: [{ message: "invalid JSON body" }] }));
        return;
      }
      const response = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method, headers, search: url.search, body },
        context: async () => ({ headers: req.headers }),
      });
      const outHeaders = {};
      for (const [name, value] of response.headers) outHeaders[name] = value;
      res.writeHead(response.status || 200, outHeaders);
      if (response.body.kind === "complete") {
        res.end(response.body.string);
      } else {
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        res.end();
      }
    })
    .listen(Number(port), "127.0.0.1");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
