import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_LEDGER } from '../../src/domain/ledger.js';
import { recordApplied, recordRemoved } from '../../src/ledger/ledger-updates.js';
import { planChanges, planHasChanges } from '../../src/planner/plan-changes.js';
import { appliedAll, desired } from '../fixtures/namespaces.js';

describe('planChanges', () => {
  it('creates everything against an empty ledger, pushing complete metadata', () => {
    const state = desired({ 'state.redis.host': 'h', 'state.redis.port': '1', 'lock.redis.host': 'l' });
    const plan = planChanges(state, EMPTY_LEDGER);
    assert.deepEqual(
      plan.changes.map((c) => [c.id, c.action]),
      [
        ['lock/redis', 'create'],
        ['state/redis', 'create'],
      ],
    );
    assert.deepEqual(plan.changes[1]?.keys, [
      { key: 'host', change: 'added', after: 'h' },
      { key: 'port', change: 'added', after: '1' },
    ]);
    assert.deepEqual(
      plan.push.map((c) => c.id),
      ['lock/redis', 'state/redis'],
    );
    assert.deepEqual(plan.push[1]?.metadata, { host: 'h', port: '1' });
    assert.ok(planHasChanges(plan));
  });

  it('is unchanged when the hash matches, and pushes nothing', () => {
    const state = desired({ 'state.redis.host': 'h' });
    const plan = planChanges(state, appliedAll(state));
    assert.deepEqual(plan.changes.map((c) => [c.id, c.action, c.keys.length]), [['state/redis', 'unchanged', 0]]);
    assert.deepEqual(plan.push, []);
    assert.ok(!planHasChanges(plan));
  });

  it('updates only the changed component, with per-key before/after, and pushes its full metadata', () => {
    const before = desired({ 'state.redis.host': 'old', 'state.redis.gone': 'x', 'state.redis.same': 's', 'lock.redis.host': 'l' });
    const after = desired({ 'state.redis.host': 'new', 'state.redis.added': 'a', 'state.redis.same': 's', 'lock.redis.host': 'l' });
    const plan = planChanges(after, appliedAll(before));
    assert.deepEqual(
      plan.changes.map((c) => [c.id, c.action]),
      [
        ['lock/redis', 'unchanged'],
        ['state/redis', 'update'],
      ],
    );
    assert.deepEqual(plan.changes[1]?.keys, [
      { key: 'added', change: 'added', after: 'a' },
      { key: 'gone', change: 'removed', before: 'x' },
      { key: 'host', change: 'changed', before: 'old', after: 'new' },
    ]);
    assert.deepEqual(plan.push.map((c) => [c.id, c.metadata]), [['state/redis', { added: 'a', host: 'new', same: 's' }]]);
  });

  it('reports a component whose keys all disappeared as removed, and never pushes it', () => {
    const before = desired({ 'state.redis.host': 'h', 'lock.redis.host': 'l' });
    const plan = planChanges(desired({ 'lock.redis.host': 'l' }), appliedAll(before));
    const removed = plan.changes.find((c) => c.id === 'state/redis');
    assert.deepEqual(removed, { id: 'state/redis', kind: 'state', name: 'redis', action: 'remove', keys: [{ key: 'host', change: 'removed', before: 'h' }] });
    assert.deepEqual(plan.push, []);
    assert.ok(planHasChanges(plan));
  });

  it('does not warn again about a component already marked removed', () => {
    const before = desired({ 'state.redis.host': 'h' });
    const ledger = recordRemoved(appliedAll(before), 'state/redis');
    const plan = planChanges(desired({}), ledger);
    assert.deepEqual(plan.changes.map((c) => [c.id, c.action]), [['state/redis', 'unchanged']]);
    assert.ok(!planHasChanges(plan));
  });

  it('pushes a removed component that reappears, even with the metadata the sidecar still runs', () => {
    const state = desired({ 'state.redis.host': 'h' });
    const ledger = recordRemoved(appliedAll(state), 'state/redis');
    const same = planChanges(state, ledger);
    assert.deepEqual(same.changes.map((c) => [c.id, c.action, c.keys]), [['state/redis', 'update', []]]);
    assert.deepEqual(same.push.map((c) => c.id), ['state/redis']);
    const changed = planChanges(desired({ 'state.redis.host': 'h2' }), ledger);
    assert.deepEqual(changed.changes[0]?.keys, [{ key: 'host', change: 'changed', before: 'h', after: 'h2' }]);
  });

  it('pushes every desired component with all, keeping the actions truthful', () => {
    const before = desired({ 'state.redis.host': 'h', 'lock.redis.host': 'l' });
    const plan = planChanges(desired({ 'state.redis.host': 'h', 'lock.redis.host': 'l2', 'sequencer.redis.host': 's' }), appliedAll(before), { all: true });
    assert.deepEqual(
      plan.changes.map((c) => [c.id, c.action]),
      [
        ['lock/redis', 'update'],
        ['sequencer/redis', 'create'],
        ['state/redis', 'unchanged'],
      ],
    );
    assert.deepEqual(plan.push.map((c) => c.id), ['lock/redis', 'sequencer/redis', 'state/redis']);
  });

  it('returns frozen plans', () => {
    const plan = planChanges(desired({ 'state.redis.host': 'h' }), EMPTY_LEDGER);
    assert.ok(Object.isFrozen(plan));
    assert.ok(Object.isFrozen(plan.changes));
    assert.ok(Object.isFrozen(plan.changes[0]));
  });
});

describe('ledger updates', () => {
  it('records an applied component without touching the original ledger', () => {
    const state = desired({ 'state.redis.host': 'h' });
    const component = state.components.get('state/redis')!;
    const ledger = recordApplied(EMPTY_LEDGER, component, '2024-05-01T10:00:00.000Z');
    assert.deepEqual(EMPTY_LEDGER.components, {});
    assert.deepEqual(ledger, {
      version: 1,
      components: {
        'state/redis': {
          kind: 'state',
          name: 'redis',
          metadata: { host: 'h' },
          hash: component.hash,
          releaseKeys: ['application@rk-application'],
          appliedAt: '2024-05-01T10:00:00.000Z',
          status: 'applied',
        },
      },
    });
    assert.ok(Object.isFrozen(ledger) && Object.isFrozen(ledger.components) && Object.isFrozen(ledger.components['state/redis']));
  });

  it('marks a removed component, keeping what the sidecar still runs; unknown ids change nothing', () => {
    const ledger = appliedAll(desired({ 'state.redis.host': 'h' }));
    const removed = recordRemoved(ledger, 'state/redis');
    assert.equal(removed.components['state/redis']?.status, 'removed');
    assert.deepEqual(removed.components['state/redis']?.metadata, { host: 'h' });
    assert.equal(ledger.components['state/redis']?.status, 'applied');
    assert.equal(recordRemoved(ledger, 'lock/none'), ledger);
    assert.equal(recordRemoved(removed, 'state/redis'), removed);
  });

  it('marks a reappeared component applied again once pushed', () => {
    const state = desired({ 'state.redis.host': 'h' });
    const ledger = recordApplied(recordRemoved(appliedAll(state), 'state/redis'), state.components.get('state/redis')!, 't2');
    assert.equal(ledger.components['state/redis']?.status, 'applied');
    assert.deepEqual(planChanges(state, ledger).push, []);
  });
});
