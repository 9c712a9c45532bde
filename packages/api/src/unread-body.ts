/**
 * What happens to a request body the handler did not read (a refused upload, an error before
 * the body mattered). Go's net/http, which the docker CLI expects, reads up to 256 KiB of it
 * after the handler so a client still writing gets the answer instead of a broken pipe, and
 * closes the connection when more is left.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Go's maxPostHandlerReadBytes. */
export const MAX_DISCARDED_BODY_BYTES = 256 << 10;

export function discardUnreadBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit = MAX_DISCARDED_BODY_BYTES,
): void {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded <= limit) return;
    req.off('data', onData);
    req.pause();
    // Too much left to read: end the connection once the answer is out.
    if (res.writableFinished) req.socket.destroy();
    else res.once('finish', () => req.socket.destroy());
  };
  req.on('data', onData);
  // A borrowed body may have been unpiped and paused by the consumer that gave up on it.
  req.resume();
}
