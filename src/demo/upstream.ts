import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The demo upstream that `npm start` runs beside the gateway: it echoes what it received as
 * JSON, so a user can see what the gateway forwarded (path, headers, body size).
 */
export function startDemoUpstream(
  port = 9000,
  host = '127.0.0.1',
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
    });
    req.on('end', () => {
      const body = JSON.stringify(
        { upstream: 'demo', method: req.method, url: req.url, headers: req.headers, bodyBytes: size },
        null,
        2,
      );
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}
