/**
 * What `run` loads, seen from inside the shipped binary under the image's runtime settings
 * (`--lite-mode` among them, which has no WebAssembly: Node's fetch would fail there): a preload
 * records, as the process exits, Node's list of the built-in modules it loaded and every
 * CommonJS file it required.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runArgs, startAgent } from '../support/agent-process.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { shippedRuntime } from '../support/shipped-runtime.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

const PRELOAD = `
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
process.on('exit', () => {
  writeFileSync(process.env.MODULE_REPORT, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) }));
});
`;

test('run fetches from Apollo and pushes without loading undici (fetch) or protobufjs', async () => {
  const apollo = await startFakeApollo({ appId: 'orders' });
  onCleanup(() => apollo.close());
  const sidecar = await startFakeLayotto();
  onCleanup(() => sidecar.close());
  const stateDir = await tempDir('asa-footprint-');
  const preload = join(stateDir, 'module-report.mjs');
  const report = join(stateDir, 'modules.json');
  await writeFile(preload, PRELOAD);
  apollo.publish('application', REDIS_RELEASE);
  const runtime = await shippedRuntime();
  const agent = startAgent(
    runArgs({ configService: apollo.url, appId: 'orders', sidecar: sidecar.address, stateDir }),
    { ...runtime.env, NODE_OPTIONS: `--import ${pathToFileURL(preload).href}`, MODULE_REPORT: report },
    { execArgv: runtime.execArgv },
  );
  onCleanup(() => agent.stop('SIGKILL'));
  await sidecar.waitFor((s) => s.current('state/redis') !== undefined, 10_000);
  // A release after start: a long-poll answered, a fetch, a push.
  await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
  apollo.publish('application', { ...REDIS_RELEASE, 'state.redis.disasterSwitch': 'on' });
  await sidecar.waitFor((s) => s.current('state/redis')?.disasterSwitch === 'on', 5_000);
  assert.equal(await agent.stop('SIGTERM'), 0);

  const { builtins, files } = JSON.parse(await readFile(report, 'utf8')) as { builtins: string[]; files: string[] };
  assert.ok(builtins.includes('NativeModule http'), 'the report lists what the agent loaded');
  assert.deepEqual(builtins.filter((name) => /undici/.test(name)), []);
  assert.deepEqual(files.filter((file) => /proto-loader|protobufjs/.test(file)), []);
});

test('run collects the garbage of a release once it is applied, under the image runtime (--expose-gc)', async () => {
  const apollo = await startFakeApollo({ appId: 'orders' });
  onCleanup(() => apollo.close());
  const sidecar = await startFakeLayotto();
  onCleanup(() => sidecar.close());
  const stateDir = await tempDir('asa-collect-');
  apollo.publish('application', REDIS_RELEASE);
  const runtime = await shippedRuntime();
  assert.ok(runtime.execArgv.includes('--expose-gc'), "the image's ENTRYPOINT exposes gc to run");
  const agent = startAgent(
    [...runArgs({ configService: apollo.url, appId: 'orders', sidecar: sidecar.address, stateDir }), '--log-level', 'debug'],
    runtime.env,
    { execArgv: runtime.execArgv },
  );
  onCleanup(() => agent.stop('SIGKILL'));
  await agent.waitForLog((line) => line.message === 'applied', 10_000, 'the first release applied');
  const collected = await agent.waitForLog((line) => line.message === 'collected the garbage of the last release', 30_000, 'the collection');
  const heap = collected.heapUsedMb as { before: number; after: number };
  assert.ok(heap.after <= heap.before, `the heap did not grow through a full collection: ${JSON.stringify(heap)}`);
  assert.equal(await agent.stop('SIGTERM'), 0);
});
