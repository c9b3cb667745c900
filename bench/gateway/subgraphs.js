// Benchmark fixture subgraphs: dependency-free Node.js HTTP servers answering from precomputed data,
// so the upstream costs (almost) nothing and the benchmark measures the gateway.
//   node subgraphs.js PRODUCTS_PORT REVIEWS_PORT [USERS_PORT [ORDERS_PORT [EVENT_MS]]]
// products answers topProducts(first: N) and _entities for Product; reviews answers _entities for
// Product (reviews, and shippingEstimate from the representation's price: the @requires); users
// answers _entities for User; orders serves Subscription.orderStatus over graphql-transport-ws
// (WebSocket upgrade on any path) and GraphQL over SSE (POST or GET with Accept: text/event-stream), one
// event every EVENT_MS ms (default 50) to every open subscription, stamped with its emission time.
// The SDL of each lives in bench/gateway/schema.py (two subgraphs) and bench/peers/workloads.py.
// Answers are memoised per raw request body: a gateway repeats the same subgraph requests.
// CACHE_CONTROL (environment): the Cache-Control header of every answer (none by default).
"use strict";
const crypto = require("crypto");
const http = require("http");

const REVIEWS_PER_PRODUCT = 3;
const USERS = 20;
const STATUSES = ["PLACED", "PAID", "PACKED", "SHIPPED"];

function product(i) {
  return { __typename: "Product", upc: String(i), name: `Product ${i}`, price: 100 * i };
}

function reviewsOf(upc, withReviewer) {
  const reviews = [];
  for (let j = 1; j <= REVIEWS_PER_PRODUCT; j++) {
    const review = { __typename: "Review", body: `Review ${j} of ${upc}`, author: `user${j}` };
    if (withReviewer) {
      review.id = `${upc}-${j}`;
      review.reviewer = { __typename: "User", id: `u${(Number(upc) * REVIEWS_PER_PRODUCT + j) % USERS}` };
    }
    reviews.push(review);
  }
  return reviews;
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

// The top-level fields of a subgraph request, with their response keys: gateways alias them (Hive
// Gateway batches several _entities fetches into one request as `_v0__entities: _entities(...)`).
const TOP_LEVEL = /(?:([A-Za-z_]\w*)\s*:\s*)?\b(_entities|topProducts)\b\s*(?:\(([^)]*)\))?(?=\s*[{}]|\s*$|\s+\w)/g;

function topLevelFields(query) {
  const found = [];
  for (const m of query.matchAll(TOP_LEVEL)) found.push({ key: m[1] || m[2], name: m[2], args: m[3] || "", at: m.index });
  found.forEach((f, i) => { f.selection = query.slice(f.at, i + 1 < found.length ? found[i + 1].at : query.length); });
  return found;
}

function argument(field, name, variables) {
  const m = new RegExp(`\\b${name}\\s*:\\s*(\\$\\w+|\\d+)`).exec(field.args);
  if (!m) return undefined;
  return m[1].startsWith("$") ? (variables || {})[m[1].slice(1)] : Number(m[1]);
}

// {data: {key: resolve(field)}} for every top-level field of the request.
function answer(request, resolve) {
  const data = {};
  for (const field of topLevelFields(request.query || "")) data[field.key] = resolve(field, request.variables);
  return JSON.stringify({ data });
}

function serve(port, handler, onServer) {
  const memo = new Map();
  const server = http.createServer((req, res) => {
    if (req.method === "GET") {
      if (onServer && onServer.request) {
        const params = new URL(req.url, "http://127.0.0.1").searchParams;
        let variables = {};
        try { variables = JSON.parse(params.get("variables") || "{}"); } catch { /* no variables */ }
        if (onServer.request(req, res, { query: params.get("query") || "", variables })) return;
      }
      reply(res, '{"status":"ok"}');
      return;
    }
    collect(req, (raw) => {
      let request;
      try { request = JSON.parse(raw); } catch { res.writeHead(400); res.end(); return; }
      if (onServer && onServer.request && onServer.request(req, res, request)) return;
      let body = memo.get(raw);
      if (body === undefined) {
        body = handler(request);
        if (memo.size < 256) memo.set(raw, body);
      }
      reply(res, body);
    });
  });
  server.keepAliveTimeout = 60000;
  if (onServer && onServer.upgrade) server.on("upgrade", onServer.upgrade);
  server.listen(port, "127.0.0.1");
}

function products(request) {
  return answer(request, (field, variables) => {
    if (field.name === "_entities") return (argument(field, "representations", variables) || []).map((r) => product(Number(r.upc)));
    const list = [];
    for (let i = 1; i <= (argument(field, "first", variables) ?? 5); i++) list.push(product(i));
    return list;
  });
}

function reviews(request) {
  return answer(request, (field, variables) => {
    const withReviews = field.selection.includes("reviews");
    const withReviewer = field.selection.includes("reviewer");
    const withShipping = field.selection.includes("shippingEstimate");
    return (argument(field, "representations", variables) || []).map((r) => {
      const entity = { __typename: "Product", upc: r.upc };
      if (withReviews) entity.reviews = reviewsOf(r.upc, withReviewer);
      if (withShipping) entity.shippingEstimate = typeof r.price === "number" ? Math.round(r.price / 10) : null;
      return entity;
    });
  });
}

function users(request) {
  return answer(request, (field, variables) => (argument(field, "representations", variables) || []).map((r) => ({
    __typename: "User", id: r.id, username: `shopper${r.id.slice(1)}`,
  })));
}

// --- orders: Subscription.orderStatus over graphql-transport-ws and SSE -------------------------

const listeners = new Set(); // functions taking the event's payload object
let seq = 0;

function orderEvent(orderId) {
  seq += 1;
  return {
    data: {
      orderStatus: {
        orderId,
        seq,
        status: STATUSES[seq % STATUSES.length],
        emittedAt: performance.timeOrigin + performance.now(),
        product: { __typename: "Product", upc: "1" },
      },
    },
  };
}

function orderIdOf(request) {
  const vars = request.variables || {};
  if (typeof vars.orderId === "string") return vars.orderId;
  const match = /orderId:\s*"([^"]*)"/.exec(request.query || "");
  return match ? match[1] : "o1";
}

function wsFrame(text) {
  const payload = Buffer.from(text, "utf8");
  let header;
  if (payload.length < 126) {
    header = Buffer.from([0x81, payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x81; header[1] = 126; header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x81; header[1] = 127; header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([header, payload]);
}

// Client frames are masked; returns [opcode, text, rest] or null when the buffer holds no whole frame.
function readFrame(buffer) {
  if (buffer.length < 2) return null;
  const opcode = buffer[0] & 0x0f;
  let length = buffer[1] & 0x7f;
  let offset = 2;
  if (length === 126) { if (buffer.length < 4) return null; length = buffer.readUInt16BE(2); offset = 4; }
  else if (length === 127) { if (buffer.length < 10) return null; length = Number(buffer.readBigUInt64BE(2)); offset = 10; }
  const masked = (buffer[1] & 0x80) !== 0;
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return null;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buffer[maskOffset + (i % 4)];
  return [opcode, payload.toString("utf8"), buffer.subarray(offset + length)];
}

function upgrade(req, socket) {
  const key = req.headers["sec-websocket-key"];
  const protocols = String(req.headers["sec-websocket-protocol"] || "").split(",").map((p) => p.trim());
  if (!key || !protocols.includes("graphql-transport-ws")) { socket.destroy(); return; }
  const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    + `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`);
  socket.setNoDelay(true);
  const mine = new Map(); // operation id -> listener
  const send = (message) => { if (!socket.destroyed) socket.write(wsFrame(JSON.stringify(message))); };
  const close = () => { for (const l of mine.values()) listeners.delete(l); mine.clear(); };
  let pending = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (let frame = readFrame(pending); frame; frame = readFrame(pending)) {
      const [opcode, text, rest] = frame;
      pending = rest;
      if (opcode === 0x8) { close(); socket.end(Buffer.from([0x88, 0])); return; }
      if (opcode === 0x9) { socket.write(Buffer.from([0x8a, 0])); continue; }
      if (opcode !== 0x1) continue;
      let message;
      try { message = JSON.parse(text); } catch { socket.destroy(); return; }
      if (message.type === "connection_init") send({ type: "connection_ack" });
      else if (message.type === "ping") send({ type: "pong" });
      else if (message.type === "subscribe") {
        const orderId = orderIdOf(message.payload || {});
        const listener = (make) => send({ id: message.id, type: "next", payload: make(orderId) });
        mine.set(message.id, listener);
        listeners.add(listener);
      } else if (message.type === "complete") {
        listeners.delete(mine.get(message.id));
        mine.delete(message.id);
      }
    }
  });
  socket.on("close", close);
  socket.on("error", close);
}

// GraphQL over SSE, distinct connections mode: one subscription per request (POST, or GET with query parameters).
function sseRequest(req, res, request) {
  if (!String(req.headers.accept || "").includes("text/event-stream")) return false;
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.flushHeaders();
  const orderId = orderIdOf(request);
  const listener = (make) => res.write(`event: next\ndata: ${JSON.stringify(make(orderId))}\n\n`);
  listeners.add(listener);
  res.on("close", () => listeners.delete(listener));
  return true;
}

function orders(request) {
  const query = request.query || "";
  if (query.includes("_service")) return JSON.stringify({ data: { _service: { sdl: "" } } });
  return JSON.stringify({ data: { __typename: "Query" } });
}

const [productsPort, reviewsPort, usersPort, ordersPort, eventMs] = process.argv.slice(2).map(Number);
serve(productsPort, products);
serve(reviewsPort, reviews);
if (usersPort) serve(usersPort, users);
if (ordersPort) {
  serve(ordersPort, orders, { request: sseRequest, upgrade });
  setInterval(() => {
    if (listeners.size === 0) return;
    let event = null; // one event per tick, shared by every subscription of the same order
    const make = (orderId) => {
      if (event === null || event.data.orderStatus.orderId !== orderId) event = orderEvent(orderId);
      return event;
    };
    for (const listener of listeners) listener(make);
  }, eventMs || 50);
}
process.on("SIGTERM", () => process.exit(0));
