/** What every command gets: the process's stdio and environment, and a lazily built client. */
import type { Readable, Writable } from 'node:stream';
import { EngineClient } from './client/http-client.js';
import { resolveClientHost } from './host.js';

export interface CliIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export interface CommandContext {
  readonly io: CliIO;
  /** The name the user typed (`tsdocker`), for messages like `Run 'tsdocker run --help'`. */
  readonly programName: string;
  /** The client for the daemon chosen by `-H`/env; created on first use. */
  client(): EngineClient;
}

export function processIO(): CliIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

export function createContext(io: CliIO, programName: string, hostFlags: () => string[]): CommandContext {
  let client: EngineClient | undefined;
  return {
    io,
    programName,
    client() {
      client ??= new EngineClient(resolveClientHost(hostFlags(), io.env), {
        apiVersion: io.env.DOCKER_API_VERSION || undefined,
      });
      return client;
    },
  };
}
