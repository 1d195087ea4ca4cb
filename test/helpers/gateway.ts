import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as undiciRequest } from 'undici';
import { Gateway, type GatewayOptions } from '../../src/gateway.js';
import { MemorySink } from '../../src/observability/logger.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestGateway {
  gw: Gateway;
  url: string;
  admin: string;
  access: MemorySink;
  logs: MemorySink;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts a real gateway in-process on loopback ports chosen by the OS, with a fresh SQLite store. */
export async function startGateway(
  config: unknown,
  opts: Partial<GatewayOptions> = {},
): Promise<TestGateway> {
  const access = new MemorySink();
  const logs = new MemorySink();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'portcullis-test-'));
  const gw = new Gateway({
    config,
    port: 0,
    host: '127.0.0.1',
    adminPort: 0,
    adminToken: ADMIN_TOKEN,
    dataDir,
    accessLogSink: access,
    logSink: logs,
    logLevel: 'info',
    drainMs: 100,
    ...opts,
  });
  const { port, adminPort } = await gw.start();
  return {
    gw,
    url: `http://127.0.0.1:${port}`,
    admin: `http://127.0.0.1:${adminPort}`,
    access,
    logs,
    dataDir,
    stop: () => gw.stop(),
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One HTTP request with undici, body read. */
export async function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  const r = await undiciRequest(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body,
  });
  const text = await r.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.statusCode, headers: r.headers, text, json };
}

/** A call to the admin API with the test token. */
export function adminCall(
  t: TestGateway,
  method: string,
  path: string,
  body?: string | object,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return call(`${t.admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The minimal config of the issue, pointed at a given upstream. */
export function minimalConfig(upstreamUrl: string, extra: { policies?: unknown[] } = {}) {
  return {
    services: [{ name: 'echo', targets: [{ url: upstreamUrl }] }],
    routes: [{ name: 'hello', service: 'echo', paths: ['/hello'] }],
    policies: extra.policies ?? [],
  };
}
