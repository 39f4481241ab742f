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

/** Where logform leaves the formatted line and the level (triple-beam's MESSAGE and LEVEL). */
const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');

/** winston exports its transport base class as `Transport`; its typings call it `transport`. */
const TransportBase = (winston as unknown as { Transport: new () => winston.transport }).Transport;

/** Batches with lines not yet written; written synchronously if the process exits first. */
const unflushed = new Set<TurnBatchedLines>();
let exitFlushInstalled = false;

/**
 * Writes the lines logged during one turn of the event loop with one write. stderr pipes are
 * synchronous: a 500-component release logs a line per component, and a write(2) per line
 * (waking the reader each time) cost more than building the line. A warning or an error goes
 * out at once, with the lines before it: those are the lines that explain a process killed
 * before its next turn.
 */
class TurnBatchedLines extends TransportBase {
  #lines: string[] = [];
  #flush: NodeJS.Immediate | undefined;

  constructor(private readonly target: NodeJS.WritableStream) {
    super();
  }

  override log(info: winston.Logform.TransformableInfo, next: () => void): void {
    this.#lines.push(`${String(info[MESSAGE])}\n`);
    const level = info[LEVEL] ?? info.level;
    if (level === 'warn' || level === 'error') {
      this.flush();
    } else if (this.#flush === undefined) {
      this.#flush = setImmediate(() => this.flush());
      unflushed.add(this);
      if (!exitFlushInstalled) {
        exitFlushInstalled = true;
        process.once('exit', () => {
          for (const batch of unflushed) batch.flush();
        });
      }
    }
    next();
  }

  flush(): void {
    clearImmediate(this.#flush);
    this.#flush = undefined;
    unflushed.delete(this);
    if (this.#lines.length === 0) return;
    const text = this.#lines.join('');
    this.#lines = [];
    this.target.write(text);
  }
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; defaults to stderr so that command output on stdout stays machine-readable. */
  stream?: NodeJS.WritableStream;
  /**
   * Info and debug lines are written once per event-loop turn (warnings and errors at once), and
   * on exit. For the long-running agent; a line is otherwise written as it is logged.
   */
  batchPerTurn?: boolean;
  silent?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.format === 'pretty';
  const stream = options.stream ?? process.stderr;
  const logger = winston.createLogger({
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
    transports: [options.batchPerTurn ? new TurnBatchedLines(stream) : new winston.transports.Stream({ stream })],
  });
  // winston drops a line of a level that is off only at the transport, after the whole format
  // chain (masking, timestamp, JSON) has run; a debug line per push cost more than the info line.
  const write = logger.write.bind(logger) as (info: winston.Logform.TransformableInfo, ...rest: unknown[]) => boolean;
  const writeEnabled = (info: winston.Logform.TransformableInfo, ...rest: unknown[]): boolean =>
    logger.isLevelEnabled(String(info[LEVEL] ?? info.level)) ? write(info, ...rest) : true;
  logger.write = writeEnabled as typeof logger.write;
  return logger;
}

/** A logger that drops everything: for unit tests and for library users who bring none. */
export function silentLogger(): Logger {
  return createLogger({ silent: true });
}
