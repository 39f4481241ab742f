/**
 * /metrics of a running agent moves with what happens: a push, a rejected SIGHUP reload, a
 * ledger or Apollo cache write that fails, a successful Apollo poll; the standard process
 * metrics are there under their standard names.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runCleanups, tempDir } from '../support/cleanups.js';
import { startRunSandbox } from '../support/run-sandbox.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

/** The value of one series (`name{labels}` exactly as exported), or undefined. */
async function sample(http: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const P = 'apollo_sidecar_agent_';

describe('metrics during a run', () => {
  it('a push, a rejected reload, failed ledger and cache writes and Apollo polls all count', async () => {
    const configDir = await tempDir('asa-config-');
    const configFile = join(configDir, 'agent.yaml');
    await writeFile(configFile, 'resyncInterval: 5m\n');
    const { http, apollo, sidecar, agent, stateDir } = await startRunSandbox({ appId: 'orders', items: REDIS_RELEASE, extraArgs: ['--config', configFile] });
    const applied = `${P}applies_total{kind="state",name="redis",result="applied"}`;
    await waitUntil(async () => (await sample(http, applied)) === 1, 10_000, 'the first push counted');
    assert.equal(await sample(http, `${P}apply_attempts_total{kind="state",name="redis"}`), 1);
    assert.equal(await sample(http, `${P}applies_total{kind="state",name="redis",result="rejected"}`), 0);
    for (const series of [`${P}config_reloads_total{result="failure"}`, `${P}state_write_failures_total{file="ledger"}`, `${P}state_write_failures_total{file="apollo_cache"}`]) {
      assert.equal(await sample(http, series), 0, `${series} is 0 before anything happened`);
    }
    assert.ok((await sample(http, 'process_resident_memory_bytes'))! > 0, 'process metrics under their standard names');
    assert.equal(await sample(http, `${P}process_resident_memory_bytes`), undefined);

    // A successful long-poll sets the timestamp: the fake holds it, so shorten the hold.
    apollo.setHoldMs(200);
    await waitUntil(async () => ((await sample(http, `${P}apollo_last_successful_poll_timestamp_seconds`)) ?? 0) > Date.now() / 1000 - 60, 10_000, 'a successful poll');

    // SIGHUP with a file that does not validate: the old config stays, the failure counts.
    await writeFile(configFile, 'resyncInterval: soon\n');
    agent.child.kill('SIGHUP');
    await agent.waitForLog((l) => l.message === 'config reload rejected; the running config stays', 5_000, 'the rejected reload');
    await waitUntil(async () => (await sample(http, `${P}config_reloads_total{result="failure"}`)) === 1, 5_000, 'the failed reload counted');
    await writeFile(configFile, 'resyncInterval: 10m\n');
    agent.child.kill('SIGHUP');
    await waitUntil(async () => (await sample(http, `${P}config_reloads_total{result="success"}`)) === 1, 5_000, 'the good reload counted');

    // A directory where the ledger and the cache file go: the atomic rename onto them fails, even for root.
    await rm(join(stateDir, 'ledger.json'), { force: true });
    await mkdir(join(stateDir, 'ledger.json'));
    const cacheFile = join(stateDir, 'apollo-cache', 'orders', 'config-cache', 'orders+default+application.properties');
    await rm(cacheFile, { force: true });
    await mkdir(cacheFile);
    apollo.publish('application', { ...REDIS_RELEASE, 'state.redis.disasterSwitch': 'on' });
    await sidecar.waitFor((s) => s.current('state/redis')?.disasterSwitch === 'on', 10_000);
    await waitUntil(async () => (await sample(http, applied)) === 2, 5_000, 'the second push counted');
    await waitUntil(async () => ((await sample(http, `${P}state_write_failures_total{file="ledger"}`)) ?? 0) >= 1, 10_000, 'the ledger write failure counted');
    await waitUntil(async () => ((await sample(http, `${P}state_write_failures_total{file="apollo_cache"}`)) ?? 0) >= 1, 10_000, 'the cache write failure counted');
    assert.equal(agent.child.exitCode, null, 'the agent runs on');
  });
});
