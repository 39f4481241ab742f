/**
 * CONTRACT.md section 7: a namespace Apollo has no release of counts as empty in `run`, so the
 * others proceed, and `/readyz` shows it, naming it, while the pod stays ready.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runCleanups } from '../support/cleanups.js';
import { startRunSandbox } from '../support/run-sandbox.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

interface ReadyzBody {
  readonly sources?: readonly { source: string; namespace: string; failing: boolean; error?: string }[];
  readonly components: Record<string, { state: string }>;
}

describe('/readyz and the sources', () => {
  it('names a namespace Apollo has no release of, and stays ready with the other namespace applied', async () => {
    const { http } = await startRunSandbox({
      appId: 'orders',
      items: REDIS_RELEASE,
      extraArgs: ['--namespace', 'application', '--namespace', 'redis-typo'],
    });
    let body: ReadyzBody | undefined;
    await waitUntil(
      async () => {
        const response = await fetch(`http://${http}/readyz`);
        body = (await response.json()) as ReadyzBody;
        return response.status === 200;
      },
      10_000,
      '/readyz 200',
    );
    assert.equal(body!.components['state/redis']?.state, 'applied');
    assert.deepEqual(
      body!.sources?.map((s) => [s.source, s.namespace]),
      [['apollo', 'redis-typo']],
    );
    assert.match(body!.sources![0]!.error ?? '', /no release of namespace redis-typo \(appId orders, cluster default\)/);
  });
});
