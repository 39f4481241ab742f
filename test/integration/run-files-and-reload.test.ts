/**
 * `run` from a Kubernetes-style ConfigMap directory (updated by the atomic `..data` symlink
 * swap the kubelet does) and SIGHUP reloads of the agent config, through the real binary.
 */
import assert from 'node:assert/strict';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { startAgent } from '../support/agent-process.js';
import { waitUntil } from '../support/wait.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';

afterEach(runCleanups);

/** Publishes `files` the way the kubelet updates a mounted ConfigMap. */
async function configMapRelease(dir: string, version: number, files: Record<string, string>): Promise<void> {
  const data = join(dir, `..2026_11_26_00_00_0${version}`);
  await mkdir(data);
  for (const [name, text] of Object.entries(files)) await writeFile(join(data, name), text);
  await symlink(`..2026_11_26_00_00_0${version}`, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) await symlink(join('..data', name), join(dir, name)).catch(() => undefined);
}

describe('run with a ConfigMap directory', () => {
  it('pushes at start, pushes the changed component after a symlink swap, nothing for identical content, keeps the last good on a broken file', async () => {
    const sidecar = await startFakeLayotto();
    onCleanup(() => sidecar.close());
    const mount = await tempDir('asa-files-');
    const stateDir = await tempDir('asa-files-');
    await configMapRelease(mount, 1, {
      'components.yaml': 'state:\n  redis:\n    redisHost: a:6379\n    disasterSwitch: "off"\nlock:\n  redis:\n    redisHost: a:6379\n',
    });
    const agent = startAgent(['run', '--file', mount, '--sidecar', sidecar.address, '--state-dir', stateDir, '--http', 'off', '--log-level', 'debug']);
    onCleanup(() => agent.stop('SIGKILL'));
    await sidecar.waitFor((s) => s.current('state/redis') !== undefined && s.current('lock/redis') !== undefined, 10_000);

    await configMapRelease(mount, 2, {
      'components.yaml': 'state:\n  redis:\n    redisHost: a:6379\n    disasterSwitch: "on"\nlock:\n  redis:\n    redisHost: a:6379\n',
    });
    await sidecar.waitFor((s) => s.current('state/redis')?.disasterSwitch === 'on', 10_000);
    assert.equal(sidecar.callsFor('lock/redis').length, 1, 'the unchanged component is not pushed');

    const callsBefore = sidecar.calls.length;
    const rereads = (): number => agent.logs().filter((l) => /nothing changed/.test(l.message)).length;
    const rereadsBefore = rereads();
    await configMapRelease(mount, 3, {
      'components.yaml': 'state:\n  redis:\n    redisHost: a:6379\n    disasterSwitch: "on"\nlock:\n  redis:\n    redisHost: a:6379\n',
    });
    await waitUntil(() => rereads() > rereadsBefore, 10_000, 'the identical release to be read');
    assert.equal(sidecar.calls.length, callsBefore, 'identical content pushes nothing');

    await configMapRelease(mount, 4, { 'components.yaml': 'state:\n  redis: [unclosed\n' });
    await agent.waitForLog((l) => l.level === 'error' && /rejected/.test(l.message), 10_000, 'the broken file to be rejected');
    assert.equal(sidecar.calls.length, callsBefore, 'a broken file pushes nothing');
    assert.equal(sidecar.current('state/redis')?.disasterSwitch, 'on');
    assert.equal(await agent.stop('SIGTERM'), 0);
  });
});

describe('run with SIGHUP', () => {
  it('swaps in a valid new config (new rules map new components) and keeps the old one when the file is invalid', async () => {
    const apollo = await startFakeApollo({ appId: 'hup' });
    onCleanup(() => apollo.close());
    const sidecar = await startFakeLayotto();
    onCleanup(() => sidecar.close());
    const dir = await tempDir('asa-files-');
    apollo.publish('application', { 'state.redis.redisHost': 'a:6379', 'cache.host': 'c:6379', 'cache.db': '2' });
    const configPath = join(dir, 'agent.yaml');
    const base = `appId: hup\napolloConfigService: ${apollo.url}\nsidecar: ${sidecar.address}\nstateDir: ${join(dir, 'state')}\nhttp: "off"\n`;
    await writeFile(configPath, base);
    // http off on purpose: nothing but the agent's own loop may keep the process alive.
    const agent = startAgent(['run', '--config', configPath]);
    onCleanup(() => agent.stop('SIGKILL'));
    await sidecar.waitFor((s) => s.current('state/redis') !== undefined, 10_000);
    assert.equal(sidecar.current('state/cache'), undefined, '"cache.host" has two segments: ignored by the convention');

    await writeFile(configPath, `${base}components:\n  - { kind: state, name: cache, prefix: "cache." }\n`);
    agent.child.kill('SIGHUP');
    await sidecar.waitFor((s) => s.current('state/cache') !== undefined, 10_000);
    assert.deepEqual(sidecar.current('state/cache'), { host: 'c:6379', db: '2' });
    assert.equal(sidecar.callsFor('state/redis').length, 1, 'a reload does not re-push unchanged components');

    await writeFile(configPath, `${base}logLevel: chatty\n`);
    agent.child.kill('SIGHUP');
    const rejected = await agent.waitForLog((l) => l.message === 'config reload rejected; the running config stays', 10_000, 'the rejection');
    assert.match(JSON.stringify(rejected.problems), /logLevel/);

    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    apollo.publish('application', { 'state.redis.redisHost': 'b:6379', 'cache.host': 'c:6379', 'cache.db': '3' });
    await sidecar.waitFor((s) => s.current('state/cache')?.db === '3' && s.current('state/redis')?.redisHost === 'b:6379', 10_000);
    assert.equal(await agent.stop('SIGTERM'), 0);
  });
});
