// The test application's web server for scripts/browser-tests: node's http module serving
// spa/index.html at "/" (whatever the query, so the login's redirect back lands on it),
// spa/app.js, and auth0-spa-js's UMD build from node_modules. Listens on 127.0.0.1 on the port
// given as the first argument (0: the kernel picks) and prints "listening on
// http://localhost:PORT/" once it does: the application's origin is http://localhost:PORT,
// which the browser treats as a secure context, as auth0-spa-js requires.

import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

const files = {
  "/": ["spa/index.html", "text/html; charset=utf-8"],
  "/app.js": ["spa/app.js", "text/javascript; charset=utf-8"],
  "/auth0-spa-js.production.js": [
    "node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js",
    "text/javascript; charset=utf-8",
  ],
};

const server = createServer(async (request, response) => {
  const path = new URL(request.url, "http://localhost").pathname;
  const file = files[path];
  if (request.method !== "GET" || !file) {
    response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  try {
    const body = await readFile(join(here, file[0]));
    response
      .writeHead(200, { "content-type": file[1], "cache-control": "no-store" })
      .end(body);
  } catch (e) {
    response.writeHead(500, { "content-type": "text/plain" }).end(`${e.message}\n`);
  }
});

const port = Number(process.argv[2] ?? 0);
server.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://localhost:${server.address().port}/`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
