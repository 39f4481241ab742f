/**
 * The real binary on a hostile state dir: a directory where the ledger should be is set aside
 * (the agent used to die with a stack trace), a state dir writable by others is refused in one
 * line, and a symlinked config-cache directory is never written through.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runArgs, runCli, startAgent } from '../support/agent-process.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';

afterEach(runCleanups);

const APP_ID = 'hostile-state';

async function fakes(): Promise<{ configService: string; sidecar: string }> {
  const apollo = await startFakeApollo({ appId: APP_ID });
  onCleanup(() => apollo.close());
  apollo.publish('application', REDIS_RELEASE);
  const sidecar = await startFakeLayotto();
  onCleanup(() => sidecar.close());
  return { configService: apollo.url, sidecar: sidecar.address };
}

describe('run on a hostile state dir', () => {
  it('ledger.json is a directory: one warning, the agent runs and writes its ledger', async () => {
    const { configService, sidecar } = await fakes();
    const stateDir = await tempDir('asa-hostile-');
    await mkdir(join(stateDir, 'ledger.json'));
    const agent = startAgent(runArgs({ configService, appId: APP_ID, sidecar, stateDir }));
    onCleanup(() => agent.stop('SIGKILL'));
    await agent.waitForLog((line) => line.message === 'applied', 10_000, 'a component applied');
    const warnings = agent.logs().filter((line) => line.message.startsWith('ledger is unreadable'));
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]?.['error']), /ledger\.json is a directory/);
    assert.equal(await agent.stop(), 0);
    assert.ok((await readdir(stateDir)).some((name) => name.startsWith('ledger.json.corrupt-')));
    assert.ok(!agent.stderr().includes('    at '), agent.stderr());
  });

  it('a state dir writable by others: exit 1 with one line saying why, for run and diff', async () => {
    const { configService, sidecar } = await fakes();
    const stateDir = await tempDir('asa-hostile-');
    await chmod(stateDir, 0o777);
    const run = await runCli(runArgs({ configService, appId: APP_ID, sidecar, stateDir }));
    const diff = await runCli(['diff', '--apollo-config-service', configService, '--app-id', APP_ID, '--state-dir', stateDir]);
    for (const result of [run, diff]) {
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^error: state dir .+ is writable by group and others \(mode 0777\).*chmod 700[^\n]*\n$/m);
      assert.ok(!result.stderr.includes('    at '), result.stderr);
      assert.deepEqual(await readdir(stateDir), [], 'nothing read or written in it');
    }
  });

  it('apollo-cache/<app>/config-cache symlinked elsewhere: the cache is not written there', async () => {
    const { configService, sidecar } = await fakes();
    const stateDir = await tempDir('asa-hostile-');
    const elsewhere = await tempDir('asa-elsewhere-');
    await mkdir(join(stateDir, 'apollo-cache', APP_ID), { recursive: true, mode: 0o700 });
    await symlink(elsewhere, join(stateDir, 'apollo-cache', APP_ID, 'config-cache'));
    const agent = startAgent(runArgs({ configService, appId: APP_ID, sidecar, stateDir }));
    onCleanup(() => agent.stop('SIGKILL'));
    const warning = await agent.waitForLog((line) => line.message === 'Apollo cache not written', 10_000, 'the cache refused');
    assert.match(String(warning['error']), /config-cache is a symbolic link/);
    assert.equal(await agent.stop(), 0);
    assert.deepEqual(await readdir(elsewhere), []);
  });
});
