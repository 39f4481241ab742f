import winston from 'winston';
import { isSecretKey, MASK } from '../domain/secrets.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'pretty';
export type Logger = winston.Logger;

/** Masks every value whose key looks secret, at any depth, so no transport ever sees one. */
function maskDeep(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSecretKey(key) && inner !== undefined && typeof inner !== 'object' ? MASK : maskDeep(inner, depth + 1);
  }
  return out;
}

const maskSecrets = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const value = info[key];
    if (isSecretKey(key) && typeof value !== 'object') info[key] = MASK;
    else if (typeof value === 'object' && value !== null) info[key] = maskDeep(value);
  }
  return info;
});

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; defaults to stderr so that command output on stdout stays machine-readable. */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.format === 'pretty';
  return winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    format: winston.format.combine(
      maskSecrets(),
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      pretty
        ? winston.format.printf(({ timestamp, level, message, ...rest }) => {
            const fields = Object.entries(rest)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ');
            return `${String(timestamp)} ${level.padEnd(5)} ${String(message)}${fields ? ` ${fields}` : ''}`;
          })
        : winston.format.json(),
    ),
    transports: [
      options.stream
        ? new winston.transports.Stream({ stream: options.stream })
        : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }),
    ],
  });
}

/** A logger that drops everything: for unit tests and for library users who bring none. */
export function silentLogger(): Logger {
  return createLogger({ silent: true });
}
