import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import type { LogLine } from './agent-process.js';

/** A real JSON logger at debug level whose lines land in an array, for in-process tests. */
export function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', stream }), lines };
}
