import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LogLevel } from '../../src/observability/logger.js';
import { capturingLogger } from '../support/capturing-logger.js';

/** The shared capturing logger (debug) at `level`. */
function capture(level: LogLevel): ReturnType<typeof capturingLogger> {
  const captured = capturingLogger();
  captured.logger.level = level;
  return captured;
}

describe('createLogger', () => {
  test('a level that is off never reaches the format chain, for the logger and its children; a level switched on does', () => {
    const { logger, lines } = capture('info');
    const child = logger.child({ source: 'apollo' });
    // A nested getter shows whether the format chain (masking, JSON) read the line's fields;
    // winston's own copy of the fields takes the nested object by reference.
    let read = false;
    const fields = {
      detail: {
        get component(): string {
          read = true;
          return 'state/redis';
        },
      },
    };
    logger.debug('component applied', fields);
    child.debug('Apollo config fetched', fields);
    logger.log('debug', 'push superseded', fields);
    assert.equal(read, false);
    assert.equal(lines.length, 0);

    logger.level = 'debug';
    child.debug('Apollo config fetched', { status: 200 });
    assert.deepEqual(
      lines.map((line) => [line.level, line.message, line['source'], line['status']]),
      [['debug', 'Apollo config fetched', 'apollo', 200]],
    );
  });

  test('secret-looking values are masked at any depth', () => {
    const { logger, lines } = capture('info');
    logger.info('applied', { redisPassword: 's3cret', metadata: { accessKey: 'k', host: 'h' } });
    const [line] = lines;
    assert.equal(line?.['redisPassword'], '***');
    assert.deepEqual(line?.['metadata'], { accessKey: '***', host: 'h' });
  });

  test('batched per turn: lines come out in order and are flushed if the process exits first', () => {
    const run = runLogging(true, [
      "for (let i = 0; i < 3; i += 1) logger.info('line', { i });",
      "setImmediate(() => { logger.info('last', { password: 'p' }); process.exit(3); });",
    ]);
    assert.equal(run.status, 3);
    assert.deepEqual(messages(run.stderr), THREE_LINES_AND_LAST);
  });

  test('batched per turn: a warning goes out at once with the lines before it, so a kill in the same turn loses none', () => {
    const run = runLogging(true, [
      "for (let i = 0; i < 3; i += 1) logger.info('line', { i });",
      "logger.warn('last', { password: 'p' });",
      "process.kill(process.pid, 'SIGKILL');",
    ]);
    assert.equal(run.signal, 'SIGKILL');
    assert.deepEqual(messages(run.stderr), THREE_LINES_AND_LAST);
  });

  test('not batched (one-shot commands, library hosts): each line is written as it is logged', () => {
    const run = runLogging(false, ["logger.info('line', { i: 0 });", "process.kill(process.pid, 'SIGKILL');"]);
    assert.equal(run.signal, 'SIGKILL');
    assert.deepEqual(messages(run.stderr), [['line', 0]]);
  });
});

/** What the batched scripts log: three info lines, then `last` with its password masked. */
const THREE_LINES_AND_LAST = [
  ['line', 0],
  ['line', 1],
  ['line', 2],
  ['last', '***'],
];

/** Runs `body` in a child process with `logger` logging to its own stderr. */
function runLogging(batchPerTurn: boolean, body: readonly string[]): SpawnSyncReturns<string> {
  const script = [
    `import { createLogger } from ${JSON.stringify(fileURLToPath(new URL('../../src/observability/logger.ts', import.meta.url)))};`,
    `const logger = createLogger({ level: 'info', batchPerTurn: ${batchPerTurn} });`,
    ...body,
  ].join('\n');
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
}

/** Each JSON line's message and its `i` (or masked `password`). */
function messages(stderr: string): unknown[][] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .map((line) => [line['message'], line['i'] ?? line['password']]);
}
