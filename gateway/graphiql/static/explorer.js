// Starts GraphiQL on the page the gateway serves (gateway/graphiql/page.py). Everything it loads
// comes from this server. Queries and mutations go over HTTP POST; subscriptions, and operations
// with @defer (one `next` message per part, which GraphiQL merges as they arrive), over a
// graphql-transport-ws WebSocket on the same endpoint, whose connection_init payload carries the
// headers typed in the headers editor (so an Authorization header reaches the subgraphs).
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  var httpUrl = new URL(config.endpoint, window.location.href).toString();
  var wsUrl = httpUrl.replace(/^http/, "ws");
  var clients = {};

  // One WebSocket per distinct set of headers: a new token gets its own connection.
  function wsClient(headers) {
    var key = JSON.stringify(headers);
    if (!clients[key]) {
      clients[key] = graphqlWs.createClient({ url: wsUrl, connectionParams: headers, lazy: true, retryAttempts: 2 });
    }
    return clients[key];
  }

  function operationKind(params, opts) {
    var doc = opts && opts.documentAST;
    if (!doc) {
      return /^\s*subscription\b/.test(params.query) ? "subscription" : "query";
    }
    var operations = doc.definitions.filter(function (d) { return d.kind === "OperationDefinition"; });
    var chosen = operations[0];
    if (params.operationName) {
      chosen = operations.find(function (d) { return d.name && d.name.value === params.operationName; }) || chosen;
    }
    return chosen ? chosen.operation : "query";
  }

  // Development: the page's token (page.py). GraphiQL does not keep headers across reloads, so a tab
  // restored from local storage has an empty headers editor: it is sent with the token too. Headers
  // of {"Authorization": ""} ask anonymously.
  var devHeaders = config.defaultHeaders ? JSON.parse(config.defaultHeaders) : null;

  function fetcher(params, opts) {
    var headers = (opts && opts.headers) || {};
    if (devHeaders && Object.keys(headers).length === 0) {
      headers = devHeaders;
    }
    if (operationKind(params, opts) === "subscription" || /@defer\b/.test(params.query)) {
      return wsClient(headers).iterate({
        query: params.query,
        variables: params.variables,
        operationName: params.operationName,
      });
    }
    return fetch(httpUrl, {
      method: "POST",
      headers: Object.assign(
        { "Content-Type": "application/json", Accept: "application/graphql-response+json, application/json" },
        headers
      ),
      body: JSON.stringify(params),
    }).then(function (response) { return response.json(); });
  }

  var props = { fetcher: fetcher, defaultEditorToolsVisibility: true, isHeadersEditorEnabled: true };
  if (config.defaultHeaders) {
    props.defaultHeaders = config.defaultHeaders;  // development: a dev token (page.py)
  }
  if (config.tabs.length) {
    props.defaultTabs = config.tabs;
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
})();
