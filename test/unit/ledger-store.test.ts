import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { hashComponent } from '../../src/domain/hash.js';
import { EMPTY_LEDGER, type LedgerState } from '../../src/domain/ledger.js';
import { LedgerStore } from '../../src/ledger/ledger-store.js';
import { silentLogger } from '../../src/observability/logger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'asa-ledger-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const REDIS_HASH = hashComponent({ kind: 'state', name: 'redis', metadata: { a: '1' } });

const state = (hash: string): LedgerState => ({
  version: 1,
  components: {
    'state/redis': { kind: 'state', name: 'redis', metadata: { a: '1' }, hash, releaseKeys: ['application@rk'], appliedAt: '2026-01-01T00:00:00.000Z', status: 'applied' },
  },
});

describe('LedgerStore', () => {
  it('starts empty when there is no ledger', async () => {
    assert.deepEqual(await new LedgerStore(dir, silentLogger()).load(), EMPTY_LEDGER);
  });

  it('round-trips, writes mode 0600 and leaves no temp file', async () => {
    const store = new LedgerStore(dir, silentLogger());
    store.save(state(REDIS_HASH));
    await store.flush();
    assert.deepEqual(await new LedgerStore(dir, silentLogger()).load(), state(REDIS_HASH));
    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(dir), ['ledger.json']);
  });

  it('coalesces a burst of saves and ends on the last', async () => {
    const store = new LedgerStore(dir, silentLogger());
    for (let i = 0; i < 100; i += 1) store.save(state(`h${i}`));
    await store.flush();
    const saved = JSON.parse(await readFile(store.path, 'utf8')) as LedgerState;
    assert.equal(saved.components['state/redis']?.hash, 'h99');
  });

  it('computes each hash again on load: a ledger written under an earlier hash format still matches its metadata', async () => {
    await writeFile(join(dir, 'ledger.json'), JSON.stringify(state('0123456789abcdef-an-older-format')));
    assert.deepEqual(await new LedgerStore(dir, silentLogger()).load(), state(REDIS_HASH));
  });

  it('sets a corrupt ledger aside and starts empty', async () => {
    await writeFile(join(dir, 'ledger.json'), '{"version":1,"components":{"x":');
    const loaded = await new LedgerStore(dir, silentLogger()).load();
    assert.deepEqual(loaded, EMPTY_LEDGER);
    const files = await readdir(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^ledger\.json\.corrupt-\d+$/);
  });

  it('treats a wrong-shaped ledger as corrupt too', async () => {
    await writeFile(join(dir, 'ledger.json'), JSON.stringify({ version: 2, components: {} }));
    assert.deepEqual(await new LedgerStore(dir, silentLogger()).load(), EMPTY_LEDGER);
  });
});
