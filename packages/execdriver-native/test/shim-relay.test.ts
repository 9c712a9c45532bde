/**
 * The relays ShimProcess hands out for a child's stdout and stderr: the exit is reported once
 * they have ended, so they must end however the child's pipe goes away.
 */
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { relay } from '../src/shim-process.js';

async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  await finished(stream as PassThrough);
  return text;
}

describe('shim output relay', () => {
  it('passes everything through and ends with its source', async () => {
    const source = new PassThrough();
    const out = relay(source);
    const text = collect(out);
    source.write('hello ');
    source.end('world');
    expect(await text).toBe('hello world');
  });

  it('ends when its source closes without an end-of-file', async () => {
    const source = new PassThrough();
    const out = relay(source);
    const text = collect(out);
    source.write('partial');
    await new Promise((resolve) => setImmediate(resolve));
    source.destroy();
    expect(await text).toBe('partial');
  });

  it('ends when its source fails', async () => {
    const source = new PassThrough();
    const out = relay(source);
    const text = collect(out);
    source.destroy(new Error('EPIPE'));
    expect(await text).toBe('');
  });

  it('is ended at once without a source', async () => {
    expect(await collect(relay(null))).toBe('');
  });
});
