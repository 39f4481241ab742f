/**
 * `--cache-secrets=false`: the ledger keeps secret values masked (and still knows whether a
 * component changed), and a namespace holding secret-looking values is not cached.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { LedgerStore } from '../../src/ledger/ledger-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { recordAppliedAll } from '../../src/ledger/ledger-updates.js';
import { planChanges } from '../../src/planner/plan-changes.js';
import { EMPTY_LEDGER } from '../../src/domain/ledger.js';
import { NamespaceCache } from '../../src/sources/apollo/namespace-cache.js';
import { parseNamespaceName } from '../../src/sources/apollo/namespace-name.js';
import { desired } from '../fixtures/namespaces.js';
import { leakedSecrets, secretMetadata } from '../fixtures/secrets.js';
import { runCleanups, tempDir } from '../support/cleanups.js';

afterEach(runCleanups);

function vault(metadata: Record<string, string>) {
  const configurations: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) configurations[`state.vault.${key}`] = value;
  return desired(configurations);
}

describe('a ledger with secrets masked', () => {
  it('holds no secret value, and diff still tells an unchanged component from a changed one', async () => {
    const dir = await tempDir('asa-masked-');
    const applied = vault(secretMetadata());
    const store = new LedgerStore(dir, silentLogger(), { cacheSecrets: false });
    store.save(recordAppliedAll(EMPTY_LEDGER, [...applied.components.values()].map((component) => ({ component, appliedAt: '2026-01-01T00:00:00.000Z' }))));
    await store.flush();
    const text = await readFile(join(dir, 'ledger.json'), 'utf8');
    assert.deepEqual(leakedSecrets(text), []);
    assert.match(text, /"masked": true/);

    const ledger = await new LedgerStore(dir, silentLogger(), { cacheSecrets: false }).load();
    assert.deepEqual(planChanges(applied, ledger).changes.map((c) => c.action), ['unchanged']);

    const newPassword = vault({ ...secretMetadata(), redisPassword: 'fx-rotated-password' });
    const rotated = planChanges(newPassword, ledger).changes[0]!;
    assert.equal(rotated.action, 'update');
    assert.deepEqual(rotated.keys, [], 'which secret changed cannot be told from a masked ledger');

    const newHost = planChanges(vault({ ...secretMetadata(), redisHost: 'h2' }), ledger).changes[0]!;
    assert.deepEqual(newHost.keys.map((k) => [k.key, k.change, k.before, k.after]), [['redisHost', 'changed', 'shown-redisHost', 'h2']]);
  });

  it('with secrets cached (the default) the ledger keeps the values', async () => {
    const dir = await tempDir('asa-masked-');
    const applied = vault({ redisPassword: 'fx-cached-password' });
    const store = new LedgerStore(dir, silentLogger());
    store.save(recordAppliedAll(EMPTY_LEDGER, [...applied.components.values()].map((component) => ({ component, appliedAt: '2026-01-01T00:00:00.000Z' }))));
    await store.flush();
    assert.match(await readFile(join(dir, 'ledger.json'), 'utf8'), /fx-cached-password/);
  });
});

describe('the Apollo cache without secrets', () => {
  const options = { appId: 'app', cluster: 'default', logger: silentLogger(), metrics: createMetrics(), cacheSecrets: false };

  it('a namespace holding secret-looking values is not cached, and an older cached copy is removed', async () => {
    const dir = join(await tempDir('asa-masked-'), 'apollo-cache');
    const cache = new NamespaceCache({ dir, ...options });
    const name = parseNamespaceName('application');
    await mkdir(join(cache.pathFor(name), '..'), { recursive: true });
    await writeFile(cache.pathFor(name), 'state.redis.redisPassword=fx-old-cached\n');
    await cache.write(name, { releaseKey: 'rk', configurations: { 'state.redis.redisPassword': 'fx-new-secret' } });
    await assert.rejects(stat(cache.pathFor(name)), { code: 'ENOENT' });

    const yaml = parseNamespaceName('mq.yaml');
    await cache.write(yaml, { releaseKey: 'rk', configurations: { content: 'pub_subs:\n  kafka:\n    saslPassword: fx-yaml-secret\n' } });
    await assert.rejects(stat(cache.pathFor(yaml)), { code: 'ENOENT' });
  });

  it('a namespace without secrets is still cached', async () => {
    const dir = join(await tempDir('asa-masked-'), 'apollo-cache');
    const cache = new NamespaceCache({ dir, ...options });
    const name = parseNamespaceName('application');
    await cache.write(name, { releaseKey: 'rk', configurations: { 'state.redis.disasterSwitch': 'on' } });
    assert.deepEqual(await readdir(join(dir, 'app', 'config-cache')), ['app+default+application.properties']);
  });
});
