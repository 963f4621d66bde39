// Node's http module: GET /health answers "ok" (also what the upstream sidecar
// serves); GET /sleep answers after a 0.1 s timer. One process: Node runs
// JavaScript on one thread. Listens on STACKBENCH_HOST:STACKBENCH_PORT.
"use strict";
const http = require("http");

const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("ok");
  } else if (req.url === "/sleep") {
    setTimeout(() => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok");
    }, 100);
  } else {
    res.writeHead(404);
    res.end("not found");
  }
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.env.STACKBENCH_PORT || 8000), process.env.STACKBENCH_HOST || "127.0.0.1", 4096);
