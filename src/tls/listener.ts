import { readFileSync } from 'node:fs';
import type { Server, ServerOptions } from 'node:https';
import { createSecureContext } from 'node:tls';

/** The HTTPS data plane listener: where it listens and the files it needs. */
export interface TlsListenerOptions {
  port: number;
  host?: string;
  /** PEM certificate (chain) of the gateway. */
  certFile: string;
  /** PEM private key of the certificate. */
  keyFile: string;
  /** PEM CA certificates that client certificates must chain to (mtls-auth). */
  caFiles?: readonly string[];
}

/**
 * TLS settings of the HTTPS listener: TLS 1.2 at least; with CA files a client certificate is asked for but a
 * missing or unverified one does not fail the handshake (`rejectUnauthorized: false`), so that
 * `mtls-auth` answers a clean 401 with an error code instead of a dropped connection, and routes
 * without mtls-auth stay reachable over HTTPS.
 */
export function tlsServerOptions(o: TlsListenerOptions): ServerOptions {
  const read = (f: string, what: string) => {
    try {
      return readFileSync(f);
    } catch (err) {
      throw new Error(`TLS ${what} '${f}': ${(err as Error).message}`);
    }
  };
  const ca = (o.caFiles ?? []).map((f) => read(f, 'CA file'));
  return {
    cert: read(o.certFile, 'certificate'),
    key: read(o.keyFile, 'key'),
    ca: ca.length ? ca : undefined,
    minVersion: 'TLSv1.2',
    // Without CAs of its own Node would verify client certificates against the public roots.
    requestCert: ca.length > 0,
    rejectUnauthorized: false,
  };
}

/**
 * Re-reads the certificate, key and CA files and swaps them into the running listener (new
 * handshakes use them; open connections keep theirs). Files that do not read, parse or match
 * throw before anything changes: the listener keeps its certificates.
 */
export function reloadTlsListener(server: Server, o: TlsListenerOptions): void {
  const next = tlsServerOptions(o);
  createSecureContext(next); // throws on a bad PEM or a key that does not match the certificate
  server.setSecureContext(next);
}
