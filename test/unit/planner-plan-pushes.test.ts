import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ComponentId, DesiredState } from '../../src/domain/component.js';
import { EMPTY_LEDGER } from '../../src/domain/ledger.js';
import { recordRemoved } from '../../src/planner/ledger-updates.js';
import { planPushes } from '../../src/planner/plan-pushes.js';
import { appliedAll, desired } from '../fixtures/namespaces.js';

/** What the agent records after handing `state`'s components to the pusher. */
function handedOver(state: DesiredState): Map<ComponentId, string> {
  return new Map([...state.components.values()].map((component) => [component.id, component.hash]));
}

describe('planPushes', () => {
  it('pushes every component, in id order, when nothing was handed over', () => {
    const state = desired({ 'state.redis.host': 'h', 'lock.redis.host': 'l', 'sequencer.redis.host': 's' });
    const plan = planPushes(state, EMPTY_LEDGER, new Map());
    assert.deepEqual(
      plan.push.map((component) => component.id),
      ['lock/redis', 'sequencer/redis', 'state/redis'],
    );
    assert.equal(plan.push[0], state.components.get('lock/redis'), 'the desired component itself, complete');
    assert.deepEqual(plan.removed, []);
  });

  it('pushes only what differs from the hand-over, and nothing when all of it was handed over', () => {
    const before = desired({ 'state.redis.host': 'old', 'lock.redis.host': 'l' });
    const after = desired({ 'state.redis.host': 'new', 'lock.redis.host': 'l', 'oss.demo.endpoint': 'e' });
    const plan = planPushes(after, appliedAll(before), handedOver(before));
    assert.deepEqual(
      plan.push.map((component) => [component.id, component.metadata]),
      [
        ['oss/demo', { endpoint: 'e' }],
        ['state/redis', { host: 'new' }],
      ],
    );
    assert.deepEqual(planPushes(after, appliedAll(after), handedOver(after)).push, []);
  });

  it('judges pushes by the hand-over, not the ledger: an unconfirmed push is not repeated, a forgotten one is', () => {
    const state = desired({ 'state.redis.host': 'h' });
    assert.deepEqual(planPushes(state, EMPTY_LEDGER, handedOver(state)).push, []);
    assert.deepEqual(
      planPushes(state, appliedAll(state), new Map()).push.map((component) => component.id),
      ['state/redis'],
    );
  });

  it('lists applied components whose keys all disappeared as removed, in id order, and never pushes them', () => {
    const before = desired({ 'state.redis.host': 'h', 'lock.redis.host': 'l', 'oss.demo.endpoint': 'e' });
    const plan = planPushes(desired({ 'lock.redis.host': 'l' }), appliedAll(before), handedOver(before));
    assert.deepEqual(plan.removed, ['oss/demo', 'state/redis']);
    assert.deepEqual(plan.push, []);
  });

  it('does not list a component again once the ledger marks it removed', () => {
    const before = desired({ 'state.redis.host': 'h' });
    const ledger = recordRemoved(appliedAll(before), 'state/redis');
    assert.deepEqual(planPushes(desired({}), ledger, new Map()).removed, []);
  });

  it('pushes a removed component that comes back once the caller has forgotten its hand-over', () => {
    const state = desired({ 'state.redis.host': 'h' });
    const ledger = recordRemoved(appliedAll(state), 'state/redis');
    const forgotten = handedOver(state);
    forgotten.delete('state/redis');
    assert.deepEqual(
      planPushes(state, ledger, forgotten).push.map((component) => component.id),
      ['state/redis'],
    );
  });

  it('returns frozen plans', () => {
    const plan = planPushes(desired({ 'state.redis.host': 'h' }), EMPTY_LEDGER, new Map());
    assert.ok(Object.isFrozen(plan) && Object.isFrozen(plan.push) && Object.isFrozen(plan.removed));
  });
});
