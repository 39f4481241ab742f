/**
 * The Dockerfile's steps without a container runtime: pack the package as its build stage does,
 * install it as its runtime stage does (the packed files, the lock file, `npm ci --omit=dev`),
 * then start the result with the Dockerfile's own ENTRYPOINT, CMD and ENV as its non-root user
 * against the fakes, the install tree owned by root as in the image.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { startNodeScript } from '../support/agent-process.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { waitUntil } from '../support/wait.js';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runtimeStage } from './dockerfile.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

afterEach(runCleanups);

/** The uid a process runs as, from /proc: what the kernel says, not what was asked for. */
async function uidOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

describe('the image build steps', () => {
  it('pack, install with --omit=dev, start as the non-root user on a root-owned install: applies and is ready', async () => {
    const stage = await runtimeStage();
    assert.equal(stage.from, 'node:24-slim');
    assert.match(stage.user, /^\d+:\d+$/, 'a numeric user, so runAsNonRoot can verify it');
    const [uid, gid] = stage.user.split(':').map(Number) as [number, number];
    assert.notEqual(uid, 0);

    const root = await tempDir('asa-image-');
    await chmod(root, 0o755);
    const { stdout } = await run('npm', ['pack', '--pack-destination', root, '--json'], { cwd: ROOT });
    const tarball = join(root, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    const appDir = join(root, stage.workdir);
    await mkdir(appDir, { recursive: true });
    await run('tar', ['-xzf', tarball, '--strip-components=1', '-C', appDir]);
    await copyFile(join(ROOT, 'package-lock.json'), join(appDir, 'package-lock.json'));
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: appDir });

    const installed = await readdir(join(appDir, 'node_modules'));
    assert.ok(installed.includes('prom-client') && installed.includes('@grpc'), 'the runtime dependencies');
    for (const dev of ['typescript', 'tsx']) assert.ok(!installed.includes(dev), `no devDependency: ${dev}`);
    assert.ok(!(await readdir(appDir)).includes('src'), 'the package carries the build, not the sources');

    // The volume mounted over the state dir's parent, as Kubernetes makes an emptyDir: owned by
    // root, writable by all. The agent must keep its state in a directory of its own inside it.
    const stateDir = join(root, stage.env.AGENT_STATE_DIR!);
    const volume = dirname(stateDir);
    await mkdir(volume, { recursive: true });
    await chmod(volume, 0o777);
    const asRoot = process.getuid?.() === 0;

    const apollo = await startFakeApollo({ appId: 'orders' });
    onCleanup(() => apollo.close());
    const sidecar = await startFakeLayotto();
    onCleanup(() => sidecar.close());
    apollo.publish('application', REDIS_RELEASE);

    const [node, ...entrypoint] = stage.entrypoint.map((word) => (word.startsWith(stage.workdir) ? join(root, word) : word));
    assert.equal(node, 'node');
    const script = entrypoint.pop()!;
    const agent = startNodeScript(
      script,
      [...stage.cmd, '--apollo-config-service', apollo.url, '--app-id', 'orders', '--sidecar', sidecar.address, '--http', '127.0.0.1:0'],
      { ...stage.env, AGENT_STATE_DIR: stateDir },
      { execArgv: entrypoint, ...(asRoot ? { uid, gid } : {}) },
    );
    onCleanup(() => agent.stop('SIGKILL'));
    const started = await agent.waitForLog((l) => l.message === 'agent started', 15_000, 'agent started');
    assert.notEqual(await uidOf(agent.child.pid!), 0, 'the agent runs as a non-root user');
    if (asRoot) assert.equal(await uidOf(agent.child.pid!), uid);

    await sidecar.waitFor((s) => s.current('state/redis')?.disasterSwitch === 'off', 10_000);
    await waitUntil(async () => (await fetch(`http://${String(started.http)}/readyz`)).status === 200, 10_000, '/readyz 200');
    await waitUntil(async () => (await readdir(stateDir)).includes('ledger.json'), 5_000, 'the ledger in the state dir');
    assert.equal((await stat(join(stateDir, 'ledger.json'))).mode & 0o777, 0o600);
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700, 'the agent made its state dir its own');
    assert.equal(await agent.stop('SIGTERM'), 0);
  });
});
