// The yardstick: a minimal reverse proxy with node:http and an undici Pool. It forwards the
// method, path and end-to-end headers, and streams bodies both ways. No routing, no policies,
// no logging. Usage: node bench/baseline.mjs UPSTREAM_URL [PORT]
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);
const pool = new Pool(process.argv[2], { connections: 128, keepAliveTimeout: 4000 });

function endToEnd(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k) && v !== undefined) out[k] = v;
  return out;
}

const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
  const hasBody =
    req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool
    .request({
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      body: hasBody ? req : undefined,
    })
    .then(
      (up) => {
        res.writeHead(up.statusCode, endToEnd(up.headers));
        pipeline(up.body, res, () => {});
      },
      () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"error":"bad gateway"}');
      },
    );
});

server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ ready: true, port });
  else process.stdout.write(`baseline proxy on 127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => pool.close().then(() => process.exit(0))));
