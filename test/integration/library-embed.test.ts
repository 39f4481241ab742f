import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';

it('a plain Node script embeds the agent with createAgent, gets applied events, stops cleanly', async (t) => {
  const apollo = await startFakeApollo({ appId: 'embedded' });
  t.after(() => apollo.close());
  const sidecar = await startFakeLayotto();
  t.after(() => sidecar.close());
  const stateDir = await mkdtemp(join(tmpdir(), 'asa-embed-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  apollo.publish('application', { 'state.redis.redisHost': 'r:6379', 'lock.redis.redisHost': 'r:6379' });

  const script = fileURLToPath(new URL('../fixtures/embed-agent.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, APOLLO_URL: apollo.url, SIDECAR: sidecar.address, STATE_DIR: stateDir, EXPECT: 'state/redis,lock/redis' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  t.after(() => clearTimeout(killer));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

  assert.equal(code, 0, `stdout:\n${out}\nstderr:\n${err}`);
  const events = out.trim().split('\n').map((line) => JSON.parse(line) as { event: string; id?: string; ready?: boolean });
  assert.equal(events[0]?.event, 'started');
  assert.deepEqual(events.filter((e) => e.event === 'applied').map((e) => e.id).sort(), ['lock/redis', 'state/redis']);
  assert.deepEqual(events.at(-1), { event: 'stopped', ready: false });
  assert.deepEqual(sidecar.current('state/redis'), { redisHost: 'r:6379' });
});
