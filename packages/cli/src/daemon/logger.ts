/**
 * The daemon's structured logs: pino writing JSON lines to stderr (synchronously, so nothing is
 * lost when the process exits), adapted to core's `Logger` interface (`info(msg, fields)`).
 */
import type { Logger } from '@tsdocker/core';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Core's Logger plus what the daemon host itself needs. */
export interface DaemonLogger extends Logger {
  fatal(msg: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): DaemonLogger;
}

export function adaptPino(logger: PinoLogger): DaemonLogger {
  const at =
    (level: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (fields && Object.keys(fields).length > 0) logger[level](fields, msg);
      else logger[level](msg);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (bindings) => adaptPino(logger.child(bindings)),
  };
}

export function createDaemonLogger(level: LogLevel, destination?: DestinationStream): DaemonLogger {
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors under either key are serialised with message, type and stack.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
  return adaptPino(logger);
}
