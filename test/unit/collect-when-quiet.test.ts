/**
 * `run`'s collection after a release: one full GC once the agent has applied nothing for the
 * quiet period, never while outcomes keep coming, never before any work, never after stop.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import type { Agent } from '../../src/app/agent.js';
import { collectWhenQuiet, exposedGc } from '../../src/cli/collect-when-quiet.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { onCleanup, runCleanups } from '../support/cleanups.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

function rig(quietMs: number): { agent: EventEmitter; collections: () => number; stop: () => void } {
  const agent = new EventEmitter();
  let collections = 0;
  const { logger } = capturingLogger();
  const stop = collectWhenQuiet({ agent: agent as unknown as Pick<Agent, 'on' | 'off'>, collect: () => collections++, logger, quietMs });
  onCleanup(async () => stop());
  return { agent, collections: () => collections, stop };
}

describe('collectWhenQuiet', () => {
  it('collects once, a quiet period after the last outcome of a release', async () => {
    const { agent, collections } = rig(100);
    for (let i = 0; i < 500; i++) agent.emit(i % 50 === 0 ? 'rejected' : 'applied', {});
    await waitUntil(() => collections() === 1, 5_000, 'one collection');
    await sleep(400);
    assert.equal(collections(), 1, 'a release is collected once');
    agent.emit('applied', {});
    await waitUntil(() => collections() === 2, 5_000, 'a collection after the next release');
  });

  it('waits while outcomes keep coming', async () => {
    const { agent, collections } = rig(500);
    const started = Date.now();
    // Three quiet periods long: a timer armed by the first outcome alone would fire within it.
    while (Date.now() - started < 1_500) {
      agent.emit('applied', {});
      await sleep(10);
    }
    assert.equal(collections(), 0, 'nothing is collected during the work');
    await waitUntil(() => collections() === 1, 5_000, 'the collection after it');
  });

  it('does nothing before any work, and nothing after stop', async () => {
    const { agent, collections, stop } = rig(50);
    await sleep(200);
    assert.equal(collections(), 0, 'an agent that applied nothing is left alone');
    agent.emit('applied', {});
    stop();
    agent.emit('applied', {});
    await sleep(200);
    assert.equal(collections(), 0);
    assert.equal(agent.listenerCount('applied') + agent.listenerCount('rejected'), 0, 'stop unsubscribes');
  });

  it('uses the collector node --expose-gc exposes, and none without it', () => {
    const global = globalThis as { gc?: () => void };
    const exposed = global.gc;
    try {
      delete global.gc;
      assert.equal(exposedGc(), undefined);
      let called = 0;
      global.gc = () => void called++;
      exposedGc()!();
      assert.equal(called, 1);
    } finally {
      if (exposed) global.gc = exposed;
      else delete global.gc;
    }
  });
});
