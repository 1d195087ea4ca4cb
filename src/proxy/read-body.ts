import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError } from '../core/body-limit.js';

/**
 * Reads a request body into one buffer, refusing at once a declared Content-Length over the cap
 * and stopping as soon as a streamed body crosses it.
 */
export function readRequestBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) return Promise.reject(new BodyTooLargeError(max));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        cleanup();
        req.pause();
        reject(new BodyTooLargeError(max));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (!req.complete)
        onError(Object.assign(new Error('client closed the request'), { code: 'ECONNRESET' }));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
