/**
 * JSON message streams (pull, import, load, build): `200 application/json`, one object per line.
 * The status line goes out with the first message, so a failure before any output is still an
 * ordinary HTTP error; after that, failures travel in-band as `errorDetail` (the only thing the
 * CLI treats as an error) plus the legacy `error` string that dockerode users read.
 */
import type { ServerResponse } from 'node:http';
import { errorResponseFor } from './http-status.js';
import { JSON_CONTENT_TYPE } from './respond.js';

export class JsonMessageStream {
  constructor(private readonly res: ServerResponse) {}

  /** True once the 200 has been sent; from then on errors must go in-band. */
  get started(): boolean {
    return this.res.headersSent;
  }

  write(message: Record<string, unknown>): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    if (!this.res.headersSent) {
      this.res.writeHead(200, { 'Content-Type': JSON_CONTENT_TYPE });
    }
    // moby terminates each message with CRLF.
    this.res.write(`${JSON.stringify(message)}\r\n`);
  }

  writeError(err: unknown): void {
    const { message } = errorResponseFor(err);
    this.write({ errorDetail: { message }, error: message });
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}
