import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildStatus, type StatusInput } from '../../src/app/status.js';
import { formatStatus } from '../../src/cli/commands/status.js';
import { recordRemoved } from '../../src/ledger/ledger-updates.js';
import type { ComponentPushState } from '../../src/push/push-request.js';
import { appliedAll, desired, REDIS_RELEASE } from '../fixtures/namespaces.js';

const NOW = Date.parse('2026-11-29T12:00:00.000Z');
const state = desired({ ...REDIS_RELEASE, 'state.redis.disasterSwitch': 'on' });
const before = desired(REDIS_RELEASE);
const hashOf = (id: string): string => state.components.get(id)!.hash;

/** state/redis applied; lock/redis rejected by the sidecar; sequencer/redis waiting for its push. */
function pushedMap(): Map<string, ComponentPushState> {
  return new Map<string, ComponentPushState>([
    ['state/redis', { state: 'applied', hash: hashOf('state/redis'), attempts: 1 }],
    ['lock/redis', { state: 'rejected', hash: hashOf('lock/redis'), attempts: 1, code: 'INVALID_ARGUMENT', message: 'component not found. kind: lock, name: redis' }],
    ['sequencer/redis', { state: 'applied', hash: 'an older hash', attempts: 1 }],
  ]);
}

/** The components of pushedMap(), and hellos/old removed. */
function input(overrides: Partial<StatusInput> = {}): StatusInput {
  const pushed = pushedMap();
  const withOld = appliedAll(desired({ 'hellos.old.greeting': 'hi' }), appliedAll(state));
  return {
    version: '1.2.3',
    now: NOW,
    sidecar: { address: '127.0.0.1:34904', connected: true },
    sourcesLoaded: true,
    desired: state.components,
    pushState: (id) => pushed.get(id),
    ledger: recordRemoved(withOld, 'hellos/old').components,
    sources: [
      { sourceId: 'apollo', namespace: 'application', releaseKey: 'rk-application', lastSuccessAt: NOW - 1000, failing: false, origin: 'apollo' },
      { sourceId: 'apollo', namespace: 'redis.yaml', failing: true, error: 'HTTP 500 from http://apollo:8080', origin: 'none' },
    ],
    ...overrides,
  };
}

describe('buildStatus', () => {
  test('per component: state, desired and applied hash, releases, error; sorted by id; not in sync while one is not applied', () => {
    const status = buildStatus(input());
    assert.equal(status.inSync, false);
    assert.equal(status.time, '2026-11-29T12:00:00.000Z');
    assert.deepEqual(
      status.components.map((c) => [c.id, c.state, c.inSync]),
      [
        ['hellos/old', 'removed', false],
        ['lock/redis', 'rejected', false],
        ['sequencer/redis', 'pending', false],
        ['state/redis', 'applied', true],
      ],
    );
    const [removed, lock, , redis] = status.components;
    assert.deepEqual(redis, {
      id: 'state/redis',
      state: 'applied',
      inSync: true,
      desiredHash: hashOf('state/redis'),
      appliedHash: hashOf('state/redis'),
      appliedAt: '2024-01-01T00:00:00.000Z',
      releases: [{ namespace: 'application', releaseKey: 'rk-application' }],
    });
    assert.deepEqual(lock?.error, { code: 'INVALID_ARGUMENT', message: 'component not found. kind: lock, name: redis' });
    assert.equal(removed?.desiredHash, undefined);
    assert.notEqual(before.components.get('state/redis')!.hash, hashOf('state/redis'), 'the fixture changes state/redis');
    assert.deepEqual(status.sources[0], {
      sourceId: 'apollo',
      namespace: 'application',
      releaseKey: 'rk-application',
      lastSuccessAt: '2026-11-29T11:59:59.000Z',
      failing: false,
      origin: 'apollo',
    });
  });

  test('in sync when every desired component is applied on the current connection; a removed one does not count', () => {
    const pushed = new Map([...state.components.values()].map((c) => [c.id, { state: 'applied' as const, hash: c.hash, attempts: 1 }]));
    const pushState = (id: string): ComponentPushState | undefined => pushed.get(id);
    assert.equal(buildStatus(input({ pushState })).inSync, true);
    assert.equal(buildStatus(input({ pushState, sourcesLoaded: false })).inSync, false, 'not before every source delivered');
    const disconnected = buildStatus(input({ pushState, sidecar: { address: '127.0.0.1:34904', connected: false } }));
    assert.equal(disconnected.inSync, false);
    assert.ok(disconnected.components.every((c) => !c.inSync), 'nothing is confirmed while the sidecar is disconnected');
  });
});

describe('formatStatus', () => {
  test('one line per component and source, secret forms masked in errors, terminal controls escaped', () => {
    const pushed = pushedMap();
    pushed.set('lock/redis', {
      state: 'failed',
      hash: hashOf('lock/redis'),
      attempts: 5,
      code: 'UNKNOWN',
      message: 'dial redis://admin:hunter22@10.0.0.1:6379: refused\u001b[2J',
    });
    const text = formatStatus(buildStatus(input({ pushState: (id) => pushed.get(id) })), 'http://127.0.0.1:34980');
    const lines = text.split('\n');
    assert.equal(lines[0], 'agent 1.2.3 at http://127.0.0.1:34980, 2026-11-29T12:00:00.000Z: NOT IN SYNC: 2 of 3 components not applied');
    assert.equal(lines[1], 'sidecar 127.0.0.1:34904 connected');
    assert.match(lines[3]!, /^COMPONENT\s+STATE\s+DESIRED\s+APPLIED\s+APPLIED AT\s+RELEASES\s+LAST ERROR$/);
    const row = (id: string): string => lines.find((line) => line.startsWith(`${id} `))!;
    assert.match(row('state/redis'), new RegExp(`applied\\s+${hashOf('state/redis').slice(0, 12)}\\s+${hashOf('state/redis').slice(0, 12)}\\s+2024-01-01T00:00:00.000Z\\s+application@rk-application\\s+-$`));
    assert.match(row('lock/redis'), /failed .* UNKNOWN: dial redis:\/\/admin:\*\*\*@10\.0\.0\.1:6379: refused\\u001b\[2J$/);
    assert.ok(!text.includes('hunter22') && !text.includes('\u001b'));
    assert.match(row('hellos/old'), /^hellos\/old\s+removed\s+-\s+[0-9a-f]{12}\s/);
    assert.match(lines.find((line) => line.startsWith('apollo ') && line.includes('application'))!, /rk-application\s+2026-11-29T11:59:59.000Z\s+apollo\s+ok$/);
    assert.match(lines.find((line) => line.includes('redis.yaml'))!, /-\s+never\s+none\s+FAILING: HTTP 500 from http:\/\/apollo:8080$/);
  });
});
