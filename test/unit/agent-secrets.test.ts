/**
 * What the library API hands its host: a push that gave up is emitted as a PushError whose
 * details (the sidecar's text) are scrubbed of the component's secrets, since hosts log it as
 * it is.
 */
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { Agent } from '../../src/app/agent.js';
import { PushError } from '../../src/domain/errors.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { inProcessAgentConfig } from '../support/agent-config.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { MemorySource } from '../support/memory-source.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

it("a PushError's details do not repeat the component's secret the sidecar quoted", async () => {
  const sidecar = await startFakeLayotto();
  onCleanup(() => sidecar.close());
  sidecar.failComponent('state/vault', 'UNKNOWN', 'NOAUTH: AUTH fx-agent-event-pw failed');
  const source = new MemorySource();
  source.publish({ 'state.vault.redisPassword': 'fx-agent-event-pw', 'state.vault.redisHost': 'h:6379' });
  const agent = new Agent({
    config: inProcessAgentConfig({ sidecar: sidecar.address, stateDir: await tempDir('asa-agent-') }),
    logger: capturingLogger().logger,
    sources: [source],
    drainTimeoutMs: 1_000,
  });
  const errors: Error[] = [];
  agent.on('error', (error) => errors.push(error));
  onCleanup(() => agent.stop());
  await agent.start();
  await waitUntil(() => errors.some((error) => error instanceof PushError), 30_000, 'the push gave up');
  const pushError = errors.find((error): error is PushError => error instanceof PushError)!;
  assert.equal(pushError.details, 'NOAUTH: AUTH *** failed');
});
