import { createRequire } from 'node:module';
import { pino } from 'pino';
import type PinoPretty from 'pino-pretty';

export type Logger = pino.Logger;

export interface LogOptions {
  level: string;
  format: 'pretty' | 'json';
}

const SECRETS = ['password', 'auth', 'sasl', 'credentials', 'token', 'sso_api_key', 'authorization'];

/** A pino logger; `dest` defaults to stdout. Secrets are redacted up to two levels deep. */
export function createLogger(opts: LogOptions, dest?: pino.DestinationStream): Logger {
  const pretty = opts.format === 'pretty' ? loadPinoPretty() : undefined;
  const stream = pretty
    ? pretty({
        destination: dest ?? 1,
        colorize: dest === undefined && process.stdout.isTTY === true,
        translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      })
    : dest;
  const logger = pino(
    {
      level: opts.level,
      base: {},
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: SECRETS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]), censor: '[redacted]' },
    },
    stream,
  );
  if (opts.format === 'pretty' && !pretty) {
    logger.warn('log.format is "pretty" but pino-pretty is not installed; logging JSON instead');
  }
  return logger;
}

// pino-pretty is a dev dependency: loaded synchronously when present, optional otherwise.
function loadPinoPretty(): typeof PinoPretty | undefined {
  try {
    return createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}
