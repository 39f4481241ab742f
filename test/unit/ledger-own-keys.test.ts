import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { hashComponent } from '../../src/domain/hash.js';
import type { LedgerState } from '../../src/domain/ledger.js';
import { LedgerStore } from '../../src/ledger/ledger-store.js';
import { silentLogger } from '../../src/observability/logger.js';
import { parseNamespace } from '../../src/mapper/parse-namespace.js';
import { mapLayers } from '../../src/mapper/map-layers.js';
import { appliedAll, properties } from '../fixtures/namespaces.js';
import { planChanges } from '../../src/planner/plan-changes.js';
import { runCleanups, tempDir } from '../support/cleanups.js';

afterEach(runCleanups);

it('the ledger keeps a component and a metadata key named __proto__ across a load, so diff after apply shows no change', async () => {
  const configurations = JSON.parse('{"__proto__.redis.a":"1","state.redis.__proto__":"2","state.redis.constructor":"3"}') as Record<string, string>;
  const desired = mapLayers([parseNamespace(properties('application', configurations), [])]);
  const dir = await tempDir('asa-ledger-own-');
  const store = new LedgerStore(dir, silentLogger());
  store.save(appliedAll(desired));
  await store.flush();
  const loaded: LedgerState = await new LedgerStore(dir, silentLogger()).load();
  assert.deepEqual(Object.keys(loaded.components).sort(), ['__proto__/redis', 'state/redis']);
  assert.deepEqual(Object.keys(loaded.components['state/redis']!.metadata).sort(), ['__proto__', 'constructor']);
  assert.equal(loaded.components['state/redis']!.hash, hashComponent(desired.components.get('state/redis')!));
  assert.deepEqual(planChanges(desired, loaded).push, []);
});
