/**
 * Issue 11 through the real binary: a wrong appId or namespace is never planned as removals, a
 * broken properties file and a broken YAML file are the same kind of rejected release, and a
 * FIFO neither hangs a one-shot command nor keeps `run` from stopping.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { runCli, startAgent } from '../support/agent-process.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';

afterEach(runCleanups);

async function apolloWithRelease(): Promise<string> {
  const apollo = await startFakeApollo({ appId: 'payments' });
  onCleanup(() => apollo.close());
  apollo.publish('application', { 'state.redis.redisHost': '10.0.0.1:6379' });
  return apollo.url;
}

describe('sources: hostile setups through the CLI', () => {
  for (const [label, appId, namespace] of [
    ['a wrong appId', 'wrong-app', 'application'],
    ['a namespace that does not exist', 'payments', 'missing'],
  ] as const) {
    for (const command of ['diff', 'validate', 'render'] as const) {
      it(`${command} against ${label}: exit 1 naming appId, cluster and namespace, nothing shown as removed`, async () => {
        const url = await apolloWithRelease();
        const stateDir = await tempDir('asa-404-');
        const result = await runCli([command, '--apollo-config-service', url, '--app-id', appId, '--namespace', namespace, '--state-dir', stateDir]);
        assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
        const output = `${result.stdout}${result.stderr}`;
        assert.match(output, new RegExp(`no release of namespace ${namespace} \\(appId ${appId}, cluster default\\)`));
        assert.doesNotMatch(output, /removed/);
      });
    }
  }

  for (const [format, broken] of [
    ['properties', 'state.redis.redisHost=\\uZZZZ\n'],
    ['yaml', 'state: [unclosed\n'],
  ] as const) {
    it(`a broken ${format} file is rejected whole at start while the other file is pushed; validate lists it`, async () => {
      const dir = await tempDir('asa-broken-file-');
      await writeFile(join(dir, 'good.json'), JSON.stringify({ lock: { redis: { redisHost: '10.0.0.1:6379' } } }));
      await writeFile(join(dir, `bad.${format}`), broken);
      const files = ['--file', join(dir, 'good.json'), '--file', join(dir, `bad.${format}`)];
      const validate = await runCli(['validate', ...files, '--state-dir', join(dir, 'state')]);
      assert.equal(validate.code, 1);
      assert.match(validate.stdout, new RegExp(`bad\\.${format}`));

      const sidecar = await startFakeLayotto();
      onCleanup(() => sidecar.close());
      const agent = startAgent(['run', ...files, '--sidecar', sidecar.address, '--state-dir', join(dir, 'state'), '--http', '127.0.0.1:0']);
      onCleanup(() => agent.stop('SIGKILL'));
      await sidecar.waitFor((s) => s.current('lock/redis')?.redisHost === '10.0.0.1:6379', 10_000);
      await agent.waitForLog((l) => /release rejected/.test(l.message) && String(l.namespace).endsWith(`bad.${format}`), 10_000, 'the rejection');
      assert.equal(await agent.stop('SIGTERM'), 0);
    });
  }

  it('a FIFO as --file: render exits 1 at once, and run still stops on SIGTERM', async () => {
    const dir = await tempDir('asa-fifo-');
    const fifo = join(dir, 'pipe.properties');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const render = await runCli(['render', '--file', fifo, '--state-dir', join(dir, 'state')], {}, 15_000);
    assert.equal(render.code, 1);
    assert.match(render.stdout + render.stderr, /is not a regular file/);
    assert.ok(Date.now() - started < 10_000);

    const agent = startAgent(['run', '--file', fifo, '--sidecar', '127.0.0.1:9', '--state-dir', join(dir, 'state'), '--http', '127.0.0.1:0']);
    onCleanup(() => agent.stop('SIGKILL'));
    await agent.waitForLog((l) => l.message === 'agent started', 10_000, 'agent started');
    const stopping = Date.now();
    assert.equal(await agent.stop('SIGTERM'), 0);
    assert.ok(Date.now() - stopping < 10_000);
  });
});
