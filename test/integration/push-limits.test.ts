/**
 * CONTRACT.md section 9 through the real binary: a component over `--max-push-bytes` is never
 * sent (the others are), shown in /readyz and by `validate`; no per-value limit below it.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { encodedRequestBytes } from '../../src/sidecar/request-size.js';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runCli } from '../support/agent-process.js';
import { componentsOf, onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { startRunSandbox } from '../support/run-sandbox.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

/** 5.4 MB, the component of the issue that was re-sent every 10 s; and a 2 MiB value that fits. */
const RELEASE = { ...REDIS_RELEASE, 'state.big.blob': 'x'.repeat(5_400_000), 'state.large.blob': 'y'.repeat(2 * 1024 * 1024) };
const BIG_BYTES = encodedRequestBytes({ kind: 'state', name: 'big', metadata: componentsOf(RELEASE).get('state/big')! });

describe('push size limit', () => {
  it('run: the oversized component is never sent, the others are (a 2 MiB value included); /readyz names it and its size', async () => {
    const box = await startRunSandbox({ appId: 'limits', items: RELEASE });
    const { sidecar, http, apollo } = box;
    const readyz = async (): Promise<{ status: number; body: { components: Record<string, { state: string; message?: string }> } }> => {
      const response = await fetch(`http://${http}/readyz`);
      return { status: response.status, body: (await response.json()) as never };
    };
    await waitUntil(async () => (await readyz()).status === 200, 20_000, '/readyz 200');
    assert.equal(sidecar.current('state/large')?.blob?.length, 2 * 1024 * 1024);
    const { body } = await readyz();
    assert.equal(body.components['state/big']?.state, 'rejected');
    assert.equal(
      body.components['state/big']?.message,
      `state/big: the encoded ApplyConfiguration request is ${BIG_BYTES} bytes, over --max-push-bytes (4194304), so it is not sent`,
    );
    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    apollo.publish('application', { ...RELEASE, 'state.redis.disasterSwitch': 'on' });
    await sidecar.waitFor((s) => s.current('state/redis')?.disasterSwitch === 'on', 10_000);
    assert.equal(sidecar.callsFor('state/big').length, 0, 'never sent');
    const warnings = box.agent.logs().filter((l) => l.component === 'state/big' && l.level === 'warn');
    assert.equal(warnings.length, 1, 'warned once');
  });

  it('validate: lists a component over --max-push-bytes with its size and exits 1', async () => {
    const apollo = await startFakeApollo({ appId: 'limits' });
    onCleanup(() => apollo.close());
    apollo.publish('application', { ...REDIS_RELEASE, 'state.big.blob': 'x'.repeat(2048) });
    const stateDir = await tempDir('asa-limits-');
    const args = ['--apollo-config-service', apollo.url, '--app-id', 'limits', '--state-dir', stateDir];
    const size = encodedRequestBytes({ kind: 'state', name: 'big', metadata: { blob: 'x'.repeat(2048) } });
    const result = await runCli(['validate', ...args, '--max-push-bytes', '1KiB']);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /invalid: 1 problem/);
    assert.ok(
      result.stdout.includes(`state/big: the encoded ApplyConfiguration request is ${size} bytes, over --max-push-bytes (1024), so it is not sent`),
      result.stdout,
    );
    assert.equal((await runCli(['validate', ...args])).code, 0, 'valid under the default 4 MiB');
  });
});
