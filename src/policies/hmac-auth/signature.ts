import { createHash, createHmac } from 'node:crypto';

export interface SignatureParams {
  keyId: string;
  algorithm: string;
  signature: string;
  nonce: string;
}

const PARAM = /\s*([A-Za-z]+)="([^"]*)"\s*(?:,|$)/y;

/**
 * Reads `HMAC keyId="...", algorithm="hmac-sha256", nonce="...", signature="..."`. Undefined when
 * the header is not of the HMAC scheme; an Error when it is but is malformed.
 */
export function parseAuthorization(header: string): SignatureParams | Error | undefined {
  const m = /^hmac\s+/i.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  PARAM.lastIndex = m[0].length;
  while (PARAM.lastIndex < header.length) {
    const p = PARAM.exec(header);
    if (!p) return new Error('malformed parameter list');
    const k = p[1];
    if (k in params) return new Error(`parameter '${k}' given twice`);
    params[k] = p[2];
  }
  for (const k of ['keyId', 'algorithm', 'signature'])
    if (!params[k]) return new Error(`parameter '${k}' missing`);
  if ((params.nonce ?? '').length > 128) return new Error('nonce longer than 128 characters');
  return {
    keyId: params.keyId,
    algorithm: params.algorithm.toLowerCase(),
    signature: params.signature,
    nonce: params.nonce ?? '',
  };
}

/** base64 SHA-256 of the body: the digest line of the string to sign. */
export function bodyDigest(body: Buffer): string {
  return createHash('sha256').update(body).digest('base64');
}

/**
 * The string to sign: method, path with query, date, nonce and body digest, one per line.
 * `POST\n/orders?x=1\nTue, 04 Mar 2025 10:00:00 GMT\nn-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=`
 */
export function stringToSign(
  method: string,
  target: string,
  date: string,
  nonce: string,
  digest: string,
): string {
  return `${method}\n${target}\n${date}\n${nonce}\n${digest}`;
}

/** The base64 HMAC of the string to sign; the key is the secret's text as issued. */
export function sign(algorithm: string, secret: string, text: string): Buffer {
  return createHmac(algorithm === 'hmac-sha512' ? 'sha512' : 'sha256', secret)
    .update(text)
    .digest();
}
