import winston from 'winston';
import { isSecretKey, MASK, printable, printableJson, redactDeep, stringifyPrintable, type KnownSecrets } from '../domain/masking.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'pretty';
export type Logger = winston.Logger;

/**
 * Every field of every line, the message included, at every level: values under
 * secret-looking keys masked at any depth, secret forms and known secret values scrubbed from
 * strings, strings and lists cut to a sane length. No transport ever sees the original.
 */
const redactFields = winston.format((info, options) => {
  const { known } = options as { known?: KnownSecrets };
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    const value: unknown = info[key];
    const secret = key !== 'message' && isSecretKey(key) && value !== undefined && value !== null && typeof value !== 'object';
    info[key] = secret ? MASK : redactDeep(value, known);
  }
  return info;
});

/** Where logform leaves the formatted line and the level (triple-beam's MESSAGE and LEVEL). */
const MESSAGE = Symbol.for('message');
const LEVEL = Symbol.for('level');

const printableJsonLine = winston.format((info) => {
  info[MESSAGE] = printableJson(String(info[MESSAGE]));
  return info;
});

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
  /** Secret values to scrub from every line (the agent fills it with its components' secrets). */
  knownSecrets?: KnownSecrets;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.format === 'pretty';
  const stream = options.stream ?? process.stderr;
  const logger = winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    format: winston.format.combine(
      winston.format.errors({ stack: false }),
      redactFields({ known: options.knownSecrets }),
      winston.format.timestamp(),
      // One event, one line: a newline or an ESC sequence in a key or a sidecar's message is
      // shown escaped, never acted on, so it can neither forge a line nor drive the terminal.
      pretty
        ? winston.format.printf(({ timestamp, level, message, ...rest }) => {
            const fields = Object.entries(rest)
              .map(([k, v]) => `${printable(k)}=${typeof v === 'string' ? printable(v) : stringifyPrintable(v)}`)
              .join(' ');
            return `${String(timestamp)} ${level.padEnd(5)} ${printable(String(message))}${fields ? ` ${fields}` : ''}`;
          })
        : winston.format.combine(winston.format.json(), printableJsonLine()),
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
