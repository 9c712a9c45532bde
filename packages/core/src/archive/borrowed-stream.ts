import { PassThrough, type Readable } from 'node:stream';

/**
 * A stream fed from `source` (an upload's request body) that can be abandoned without
 * destroying `source`: when the work fails, the caller (the API) still owns the request and can
 * answer before it closes the connection. Errors of `source` reach the consumer while it reads
 * and are swallowed after it gave the source back, so a client hanging up never becomes an
 * unhandled 'error' that kills the daemon.
 */
export function borrow(source: Readable): { input: Readable; giveBack(): void } {
  const input = new PassThrough();
  // An error before the consumer reads stays on `input` (its reads reject), never unhandled.
  input.on('error', () => {});
  const forward = (err: Error) => input.destroy(err);
  source.on('error', forward);
  source.pipe(input);
  return {
    input,
    giveBack() {
      source.unpipe(input);
      source.off('error', forward);
      source.on('error', () => {});
      source.pause();
      input.destroy();
    },
  };
}
