/**
 * Files that hurt (issue 11): a file rewritten in place, a FIFO, a symlink to /dev/zero, a file
 * over the size cap. None may reach the sidecar half-written, block a read or shutdown, or eat memory.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { open, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { SourceError } from '../../src/domain/errors.js';
import type { SourceSnapshot } from '../../src/domain/snapshot.js';
import { silentLogger } from '../../src/observability/logger.js';
import { FileSource } from '../../src/sources/file/file-source.js';
import { MAX_FILE_BYTES } from '../../src/sources/file/read-path.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

const FAST = { debounceMs: 20, maxWaitMs: 200, retryMs: 50, pollMs: 60_000, settleMs: 400 };

function watching(source: FileSource): { snapshots: SourceSnapshot[]; stop: () => Promise<void> } {
  const snapshots: SourceSnapshot[] = [];
  const controller = new AbortController();
  const running = source.watch((snapshot) => snapshots.push(snapshot), controller.signal);
  const stop = async (): Promise<void> => {
    controller.abort();
    await running;
  };
  onCleanup(stop);
  return { snapshots, stop };
}

describe('file source: hostile files', () => {
  it('a properties file rewritten in place (truncate, half, pause, rest) never reaches a snapshot half-written', async () => {
    const dir = await tempDir('asa-file-rewrite-');
    const file = join(dir, 'redis.properties');
    await writeFile(file, 'state.redis.redisHost=10.0.0.1:6379\nstate.redis.port=6379\n');
    const w = watching(new FileSource({ paths: [file], logger: silentLogger(), ...FAST }));
    await waitUntil(() => w.snapshots.length === 1, 5_000, 'the first snapshot');

    const handle = await open(file, 'r+');
    await truncate(file, 0);
    await handle.write('state.redis.redisHost=10.0.', 0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await handle.write('0.2:6379\nstate.redis.port=6380\n', 'state.redis.redisHost=10.0.'.length);
    await handle.close();
    await waitUntil(() => w.snapshots.length >= 2, 5_000, 'the rewritten file');
    await new Promise((resolve) => setTimeout(resolve, 600));
    for (const snapshot of w.snapshots.slice(1)) {
      assert.deepEqual(snapshot.namespaces[0]?.configurations, { 'state.redis.redisHost': '10.0.0.2:6379', 'state.redis.port': '6380' });
    }
  });

  it('a FIFO is refused at once, by load and by watch, and stopping the watch is prompt', async () => {
    const dir = await tempDir('asa-file-fifo-');
    const fifo = join(dir, 'pipe.properties');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    await assert.rejects(new FileSource({ paths: [fifo], logger: silentLogger() }).load(), (error: unknown) => {
      assert.ok(error instanceof SourceError);
      assert.match(error.message, /is not a regular file/);
      return true;
    });
    assert.ok(Date.now() - started < 2_000);
    const inDir = await new FileSource({ paths: [dir], logger: silentLogger() }).load().catch((error: unknown) => error);
    assert.ok(inDir instanceof SourceError, 'a FIFO in a directory is refused too');
    const w = watching(new FileSource({ paths: [fifo], logger: silentLogger(), ...FAST }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopping = Date.now();
    await w.stop();
    assert.ok(Date.now() - stopping < 1_000, 'the watch stops at once');
    assert.equal(w.snapshots.length, 0);
  });

  it('a symlink to /dev/zero is refused without reading it', async () => {
    const dir = await tempDir('asa-file-zero-');
    const link = join(dir, 'zero.properties');
    await symlink('/dev/zero', link);
    await assert.rejects(new FileSource({ paths: [link], logger: silentLogger() }).load(), /is not a regular file/);
  });

  it('a file over the 8 MiB cap is refused', async () => {
    const dir = await tempDir('asa-file-big-');
    const file = join(dir, 'big.yaml');
    await writeFile(file, Buffer.alloc(MAX_FILE_BYTES + 1, 0x61));
    await assert.rejects(new FileSource({ paths: [file], logger: silentLogger() }).load(), /over the limit of 8388608/);
  });
});
