import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { SourceError, MappingError } from '../../src/domain/errors.js';
import { hashText } from '../../src/domain/hash.js';
import type { SourceSnapshot } from '../../src/domain/snapshot.js';
import { createLogger, silentLogger, type Logger } from '../../src/observability/logger.js';
import { FileSource } from '../../src/sources/file/file-source.js';
import { parseNamespace } from '../../src/mapper/parse-namespace.js';
import { waitUntil } from '../support/wait.js';

const roots: string[] = [];
after(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'file-source-'));
  roots.push(root);
  return root;
}

function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return waitUntil(condition, timeoutMs, what);
}

/** A directory laid out the way the kubelet mounts a ConfigMap. */
class ConfigMapDir {
  private version = 0;
  private keys: string[] = [];

  constructor(readonly dir: string) {}

  /** Writes a new timestamped data dir, swaps `..data` to it atomically, then fixes the key links. */
  async publish(files: Record<string, string>): Promise<void> {
    this.version += 1;
    const dataDir = `..2024_01_0${this.version}_00_00_00.${this.version}`;
    await mkdir(join(this.dir, dataDir), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(this.dir, dataDir, name), text);
    await symlink(dataDir, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      if (!this.keys.includes(name)) await symlink(join('..data', name), join(this.dir, name));
    }
    for (const name of this.keys) {
      if (!(name in files)) await unlink(join(this.dir, name));
    }
    if (this.version > 1) await rm(join(this.dir, `..2024_01_0${this.version - 1}_00_00_00.${this.version - 1}`), { recursive: true });
    this.keys = Object.keys(files);
  }
}

/** A logger that keeps every line, to wait on what the source did rather than on time. */
function recordingLogger(): { logger: Logger; lines: { level: string; message: string; [key: string]: unknown }[] } {
  const lines: { level: string; message: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as { level: string; message: string });
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', stream }), lines };
}

function watchInBackground(source: FileSource): { snapshots: SourceSnapshot[]; stop: () => Promise<void> } {
  const controller = new AbortController();
  const snapshots: SourceSnapshot[] = [];
  const done = source.watch((snapshot) => snapshots.push(snapshot), controller.signal);
  return {
    snapshots,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

const FAST = { debounceMs: 20, maxWaitMs: 200, retryMs: 50, pollMs: 60_000, settleMs: 50 };

describe('FileSource.load', () => {
  it('reads a ConfigMap directory: by name, hidden entries and unknown extensions skipped', async () => {
    const dir = await tempDir();
    const configMap = new ConfigMapDir(dir);
    const props = 'state.redis.host=h\n# comment\nstate.redis.port : 6379\n';
    const yaml = 'lock:\n  redis:\n    host: l\n';
    await configMap.publish({ 'b.properties': props, 'a.yaml': yaml, 'c.json': '{}', 'README.md': 'docs' });
    const { logger, lines } = recordingLogger();
    const source = new FileSource({ paths: [dir], logger });
    const snapshot = await source.load();
    assert.equal(snapshot.sourceId, 'file');
    assert.deepEqual(
      snapshot.namespaces.map((ns) => [ns.key, ns.name, ns.format, ns.origin]),
      [
        [`file:${dir}/a.yaml`, `${dir}/a.yaml`, 'yaml', 'file'],
        [`file:${dir}/b.properties`, `${dir}/b.properties`, 'properties', 'file'],
        [`file:${dir}/c.json`, `${dir}/c.json`, 'json', 'file'],
      ],
    );
    assert.deepEqual(snapshot.namespaces[0]?.configurations, { content: yaml });
    assert.equal(snapshot.namespaces[0]?.releaseKey, hashText(yaml));
    assert.deepEqual(snapshot.namespaces[1]?.configurations, { 'state.redis.host': 'h', 'state.redis.port': '6379' });
    assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.namespaces[0]));
    await source.load();
    assert.equal(lines.filter((line) => line.message.includes('unknown extension')).length, 1, 'logged once');
  });

  it('keeps the order of the configured paths as priority', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'z.properties'), 'a.b.c=1');
    await writeFile(join(dir, 'a.json'), '{}');
    const snapshot = await new FileSource({ paths: [join(dir, 'z.properties'), join(dir, 'a.json')], logger: silentLogger() }).load();
    assert.deepEqual(snapshot.namespaces.map((ns) => ns.name), [join(dir, 'z.properties'), join(dir, 'a.json')]);
  });

  it('throws SourceError for a missing path or an unknown extension; broken properties are a release the gate rejects', async () => {
    const dir = await tempDir();
    await assert.rejects(new FileSource({ paths: [join(dir, 'missing.properties')], logger: silentLogger() }).load(), SourceError);
    await writeFile(join(dir, 'notes.txt'), 'x');
    await assert.rejects(new FileSource({ paths: [join(dir, 'notes.txt')], logger: silentLogger() }).load(), SourceError);
    await writeFile(join(dir, 'bad.properties'), 'a.b.c=\\uZZZZ');
    const [broken] = (await new FileSource({ paths: [join(dir, 'bad.properties')], logger: silentLogger(), settleMs: 50 }).load()).namespaces;
    assert.match(broken?.undecodable ?? '', /bad\.properties: line 1: malformed \\uXXXX escape/);
    assert.throws(() => parseNamespace(broken!, []), MappingError);
  });
});

describe('FileSource.watch', () => {
  it('emits the first snapshot, then each atomic ConfigMap swap, and nothing for unchanged content', async (t) => {
    const dir = await tempDir();
    const configMap = new ConfigMapDir(dir);
    await configMap.publish({ 'app.properties': 'state.redis.host=v1\n' });
    const { logger, lines } = recordingLogger();
    const watcher = watchInBackground(new FileSource({ paths: [dir], logger, ...FAST }));
    t.after(watcher.stop);

    await waitFor(() => watcher.snapshots.length === 1, 'the first snapshot');
    assert.deepEqual(watcher.snapshots[0]?.namespaces[0]?.configurations, { 'state.redis.host': 'v1' });

    const quietBefore = lines.filter((line) => line.message.includes('nothing changed')).length;
    await configMap.publish({ 'app.properties': 'state.redis.host=v1\n' });
    await waitFor(() => lines.filter((line) => line.message.includes('nothing changed')).length > quietBefore, 'a re-read of the same content');
    assert.equal(watcher.snapshots.length, 1, 'an unchanged file emits nothing');

    // The kubelet links a new key only after the swap, so a scan may see the swap first: wait for the end state.
    const names = (snapshot: SourceSnapshot | undefined): string[] => snapshot?.namespaces.map((ns) => ns.name) ?? [];
    await configMap.publish({ 'app.properties': 'state.redis.host=v2\n', 'extra.json': '{"lock":{"redis":{"host":"l"}}}' });
    await waitFor(() => names(watcher.snapshots.at(-1)).length === 2, 'the swapped content with the new key');
    assert.deepEqual(names(watcher.snapshots.at(-1)), [join(dir, 'app.properties'), join(dir, 'extra.json')]);
    assert.deepEqual(watcher.snapshots.at(-1)?.namespaces[0]?.configurations, { 'state.redis.host': 'v2' });

    await configMap.publish({ 'app.properties': 'state.redis.host=v2\n' });
    await waitFor(() => names(watcher.snapshots.at(-1)).length === 1, 'a removed key');
    assert.deepEqual(names(watcher.snapshots.at(-1)), [join(dir, 'app.properties')]);

    watcher.snapshots.slice(1).forEach((snapshot, index) => assert.notEqual(snapshot.revision, watcher.snapshots[index]?.revision));
  });

  it('follows a single file that is a link into a ConfigMap', async (t) => {
    const dir = await tempDir();
    const configMap = new ConfigMapDir(dir);
    await configMap.publish({ 'app.properties': 'state.redis.host=v1\n' });
    const watcher = watchInBackground(new FileSource({ paths: [join(dir, 'app.properties')], logger: silentLogger(), ...FAST }));
    t.after(watcher.stop);
    await waitFor(() => watcher.snapshots.length === 1, 'the first snapshot');
    await configMap.publish({ 'app.properties': 'state.redis.host=v2\n' });
    await waitFor(() => watcher.snapshots.length === 2, 'the new content');
    assert.deepEqual(watcher.snapshots[1]?.namespaces[0]?.configurations, { 'state.redis.host': 'v2' });
  });

  it('keeps the last good content while the path is gone, and picks it up when it returns', async (t) => {
    const parent = await tempDir();
    const dir = join(parent, 'config');
    await mkdir(dir);
    const configMap = new ConfigMapDir(dir);
    await configMap.publish({ 'app.properties': 'state.redis.host=v1\n' });
    const { logger, lines } = recordingLogger();
    const watcher = watchInBackground(new FileSource({ paths: [dir], logger, ...FAST }));
    t.after(watcher.stop);
    await waitFor(() => watcher.snapshots.length === 1, 'the first snapshot');

    await rename(dir, join(parent, 'away'));
    await waitFor(() => lines.some((line) => line.level === 'warn' && line.message.includes('keeping its last good content')), 'the warning');
    assert.equal(watcher.snapshots.length, 1, 'a vanished path is not an empty one');

    await writeFile(join(parent, 'away', '..data', 'app.properties'), 'state.redis.host=v2\n');
    await rename(join(parent, 'away'), dir);
    await waitFor(() => watcher.snapshots.length === 2, 'the returned path');
    assert.deepEqual(watcher.snapshots[1]?.namespaces[0]?.configurations, { 'state.redis.host': 'v2' });
    assert.ok(lines.some((line) => line.message.includes('readable again')));
  });

  it('waits for a path missing at start; broken properties are emitted for the gate to reject, like broken YAML', async (t) => {
    const dir = await tempDir();
    const file = join(dir, 'late.properties');
    const { logger, lines } = recordingLogger();
    const watcher = watchInBackground(new FileSource({ paths: [file], logger, ...FAST }));
    t.after(watcher.stop);
    await waitFor(() => lines.some((line) => line.message.includes('waiting for it')), 'the missing-path warning');
    assert.equal(watcher.snapshots.length, 0);
    await writeFile(file, 'state.redis.host=v1\n');
    await waitFor(() => watcher.snapshots.length === 1, 'the late file');

    await writeFile(file, 'state.redis.host=\\uZZZZ\n');
    await waitFor(() => watcher.snapshots.length === 2, 'the broken file');
    assert.match(watcher.snapshots[1]?.namespaces[0]?.undecodable ?? '', /malformed \\uXXXX escape/);

    await writeFile(file, 'state.redis.host=v3\n');
    await waitFor(() => watcher.snapshots.length === 3, 'the repaired file');
    assert.deepEqual(watcher.snapshots[2]?.namespaces[0]?.configurations, { 'state.redis.host': 'v3' });
  });

  it('resolves promptly once stopped, even with a long poll interval', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.properties'), 'a.b.c=1');
    const watcher = watchInBackground(new FileSource({ paths: [dir], logger: silentLogger(), ...FAST, pollMs: 600_000 }));
    await waitFor(() => watcher.snapshots.length === 1, 'the first snapshot');
    const started = Date.now();
    await watcher.stop();
    assert.ok(Date.now() - started < 1000);
  });
});
