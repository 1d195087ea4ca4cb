import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TlsInfo } from '../core/context.js';

const bySocket = new WeakMap<Socket, TlsInfo>();

/** True when the request came over TLS. */
export function isTls(socket: Socket): socket is TLSSocket {
  return (socket as TLSSocket).encrypted === true;
}

/** `C=DE\nO=Acme\nCN=a` (Node's order) as an RFC 4514 string: `CN=a,O=Acme,C=DE`. */
export function rfc4514(subject: string): string {
  return subject.split('\n').filter(Boolean).reverse().join(',');
}

/**
 * The client certificate of a TLS connection as policies see it: whether it verified against the
 * listener's CAs, its subject, SANs and SHA-256 fingerprint. Computed once per connection (kept
 * alive connections reuse it).
 */
export function tlsInfo(socket: TLSSocket): TlsInfo {
  let info = bySocket.get(socket);
  if (info) return info;
  const cert = socket.getPeerX509Certificate();
  const err = socket.authorizationError as unknown;
  info = {
    authorized: socket.authorized === true && cert !== undefined,
    error:
      cert === undefined
        ? 'NO_CERTIFICATE'
        : socket.authorized
          ? undefined
          : String((err as Error)?.message ?? err),
    subject: cert ? rfc4514(cert.subject) : undefined,
    san: cert?.subjectAltName ? cert.subjectAltName.split(', ') : [],
    fingerprint256: cert ? cert.fingerprint256.replace(/:/g, '').toLowerCase() : undefined,
    version: socket.getProtocol() ?? undefined,
  };
  bySocket.set(socket, info);
  return info;
}
