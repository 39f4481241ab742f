import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatComponentsJson, formatPlanText, planToJson, summarizePlan } from '../../src/cli/plan-format.js';
import { EMPTY_LEDGER } from '../../src/domain/ledger.js';
import type { Plan } from '../../src/domain/plan.js';
import { recordApplied } from '../../src/ledger/ledger-updates.js';
import { planChanges } from '../../src/planner/plan-changes.js';
import { appliedAll, desired } from '../fixtures/namespaces.js';

/** One of each action: lock/redis created, state/redis updated, sequencer/redis unchanged, oss/demo removed. */
function mixedPlan(options: { all?: boolean } = {}): Plan {
  const before = desired({
    'state.redis.redisHost': 'old:6379',
    'state.redis.redisPassword': 'old-secret',
    'state.redis.dropped': 'x',
    'sequencer.redis.host': 's',
    'oss.demo.accessKeySecret': 'ak',
    'oss.demo.endpoint': 'e',
  });
  const ledger = appliedAll(before);
  const after = desired({
    'state.redis.redisHost': 'new:6379',
    'state.redis.redisPassword': 'new-secret',
    'state.redis.db': '',
    'sequencer.redis.host': 's',
    'lock.redis.apiKey': 'k-123',
    'lock.redis.host': 'l',
  });
  return planChanges(after, ledger, options);
}

describe('formatPlanText', () => {
  it('prints a terraform-like diff with secrets masked and a summary', () => {
    const text = formatPlanText(mixedPlan(), { color: false });
    assert.equal(
      text,
      [
        '+ lock/redis (create)',
        '    + apiKey: ***',
        '    + host: "l"',
        '- oss/demo (removed: Layotto cannot unload it; it keeps its last configuration and is not pushed)',
        '    - accessKeySecret: ***',
        '    - endpoint: "e"',
        '~ state/redis (update)',
        '    + db: ""',
        '    - dropped: "x"',
        '    ~ redisHost: "old:6379" → "new:6379"',
        '    ~ redisPassword: *** → ***',
        '',
        '1 to create, 1 to update, 1 unchanged, 1 removed',
        '',
      ].join('\n'),
    );
    for (const secret of ['k-123', 'old-secret', 'new-secret', 'ak']) assert.ok(!text.includes(secret), secret);
    assert.ok(!text.includes('\u001b['));
  });

  it('colours only when asked', () => {
    const text = formatPlanText(mixedPlan(), { color: true });
    assert.ok(text.includes('\u001b[32m+ lock/redis (create)\u001b[0m'));
    assert.ok(text.includes('\u001b[31m'));
    assert.ok(text.includes('\u001b[33m'));
  });

  it('shows unchanged components only when they are pushed anyway', () => {
    assert.ok(!formatPlanText(mixedPlan(), { color: false }).includes('sequencer/redis'));
    assert.ok(formatPlanText(mixedPlan({ all: true }), { color: false }).includes('= sequencer/redis (unchanged, pushed anyway)'));
  });

  it('says when there is nothing to do', () => {
    const state = desired({ 'state.redis.host': 'h' });
    const ledger = recordApplied(EMPTY_LEDGER, state.components.get('state/redis')!, 't');
    assert.equal(formatPlanText(planChanges(state, ledger), { color: false }), 'No changes.\n0 to create, 0 to update, 1 unchanged, 0 removed\n');
  });
});

describe('planToJson', () => {
  it('is stable, complete and masked', () => {
    const json = planToJson(mixedPlan());
    assert.equal(json, planToJson(mixedPlan()));
    for (const secret of ['k-123', 'old-secret', 'new-secret', 'ak']) assert.ok(!json.includes(secret), secret);
    const parsed = JSON.parse(json) as { summary: unknown; changes: { id: string; action: string; keys: unknown[] }[]; push: string[] };
    assert.deepEqual(parsed.summary, { create: 1, update: 1, unchanged: 1, remove: 1 });
    assert.deepEqual(
      parsed.changes.map((c) => [c.id, c.action]),
      [
        ['lock/redis', 'create'],
        ['oss/demo', 'remove'],
        ['sequencer/redis', 'unchanged'],
        ['state/redis', 'update'],
      ],
    );
    assert.deepEqual(parsed.changes[3]?.keys, [
      { key: 'db', change: 'added', after: '' },
      { key: 'dropped', change: 'removed', before: 'x' },
      { key: 'redisHost', change: 'changed', before: 'old:6379', after: 'new:6379' },
      { key: 'redisPassword', change: 'changed', before: '***', after: '***' },
    ]);
    assert.deepEqual(parsed.push, ['lock/redis', 'state/redis']);
  });

  it('agrees with summarizePlan', () => {
    const plan = mixedPlan();
    assert.deepEqual((JSON.parse(planToJson(plan)) as { summary: unknown }).summary, summarizePlan(plan));
  });
});

describe('formatComponentsJson', () => {
  const state = desired({ 'state.redis.redisPassword': 'pw', 'state.redis.host': 'h', 'lock.redis.token': 't' });

  it('prints {kind,name,metadata} sorted by id with secrets masked', () => {
    assert.deepEqual(JSON.parse(formatComponentsJson(state, { showSecrets: false })), [
      { kind: 'lock', name: 'redis', metadata: { token: '***' } },
      { kind: 'state', name: 'redis', metadata: { host: 'h', redisPassword: '***' } },
    ]);
  });

  it('shows secrets when asked', () => {
    const shown = JSON.parse(formatComponentsJson(state, { showSecrets: true })) as { metadata: Record<string, string> }[];
    assert.equal(shown[0]?.metadata['token'], 't');
    assert.equal(shown[1]?.metadata['redisPassword'], 'pw');
  });
});
