/**
 * Every output of the real binary with a namespace full of secret-looking keys (the fixture
 * of test/fixtures/secrets.ts) and a sidecar whose error quotes the component's config:
 * `diff`, `diff --output json`, `render`, `apply --dry-run`, `apply`, and `run`'s logs and
 * /readyz. None may show a fixture secret; the unit side is test/unit/masking.test.ts.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { startFakeApollo, type FakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto, type FakeLayotto } from '../fakes/layotto-server.js';
import { leakedSecrets, SECRET_KEY_CASES, SECRET_VALUE_CASES, secretMetadata } from '../fixtures/secrets.js';
import { runArgs, runCli, startAgent } from '../support/agent-process.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { fetchBody } from '../support/leak-check.js';
import { waitUntil } from '../support/wait.js';

const APP_ID = 'vault-app';

/** What a sidecar says when ApplyConfig fails on a bad password: it quotes the config it was given. */
const QUOTING_ERROR = [
  `redis: WRONGPASS for ${SECRET_KEY_CASES[0]!.value}`,
  `kafka: sasl.jaas.config ${SECRET_VALUE_CASES[3]!.value}`,
  `dial ${SECRET_VALUE_CASES[0]!.value}: refused`,
  ...SECRET_KEY_CASES.map(({ value }) => `[${value}]`),
].join('; ');

let apollo: FakeApollo;
let sidecar: FakeLayotto;
let oneShotArgs: (stateDir: string) => string[];

before(async () => {
  apollo = await startFakeApollo({ appId: APP_ID });
  sidecar = await startFakeLayotto({ components: ['state/vault'] });
  const items: Record<string, string> = {};
  for (const [key, value] of Object.entries(secretMetadata())) items[`state.vault.${key}`] = value;
  apollo.publish('application', items);
  sidecar.failComponent('state/vault', 'INVALID_ARGUMENT', QUOTING_ERROR);
  oneShotArgs = (stateDir) => ['--apollo-config-service', apollo.url, '--app-id', APP_ID, '--sidecar', sidecar.address, '--state-dir', stateDir];
});

afterEach(runCleanups);
after(async () => {
  await apollo.close();
  await sidecar.close();
});

describe('no output shows a secret', () => {
  for (const command of [['diff'], ['diff', '--output', 'json'], ['render'], ['apply', '--dry-run'], ['apply', '--timeout', '10s']]) {
    it(`${command.join(' ')}`, async () => {
      const stateDir = await tempDir('asa-secrets-');
      const result = await runCli([...command, ...oneShotArgs(stateDir), '--log-level', 'debug']);
      assert.notEqual(result.code, -1);
      assert.deepEqual(leakedSecrets(result.stdout + result.stderr), [], result.stdout + result.stderr);
      assert.match(result.stdout, /\*\*\*/);
      if (command[0] === 'apply' && command[1] !== '--dry-run') assert.match(result.stdout, /INVALID_ARGUMENT: redis: WRONGPASS for \*\*\*/);
    });
  }

  it('run: logs at every level and /readyz, with the sidecar quoting the config in its error', async () => {
    const stateDir = await tempDir('asa-secrets-');
    for (const format of ['json', 'pretty']) {
      const agent = startAgent([
        ...runArgs({ configService: apollo.url, appId: APP_ID, sidecar: sidecar.address, stateDir }),
        '--log-level', 'debug',
        '--log-format', format,
      ]);
      onCleanup(() => agent.stop('SIGKILL'));
      await waitUntil(() => /http=|"http":/.test(agent.stderr()), 10_000, 'agent started');
      const http = /http=([\d.:]+)|"http":"([\d.:]+)"/.exec(agent.stderr())!.slice(1).find(Boolean)!;
      let body = '';
      await waitUntil(async () => {
        body = (await fetchBody(`http://${http}/readyz`)).text;
        return body.includes('"rejected"');
      }, 10_000, '/readyz shows the rejection');
      assert.match(body, /redis: WRONGPASS for \*\*\*/);
      const status = (await fetchBody(`http://${http}/status`)).text;
      assert.match(status, /state\/vault/);
      await waitUntil(() => agent.stderr().includes('sidecar rejected component'), 10_000, 'the rejection logged');
      assert.equal(await agent.stop(), 0);
      assert.deepEqual(leakedSecrets(body), [], body);
      assert.deepEqual(leakedSecrets(agent.stderr() + agent.stdout()), [], agent.stderr());
    }
  });
});

describe('a release that cannot be parsed, quoting a secret in the parser error', () => {
  it('validate and diff name the problem without the secret', async () => {
    const broken = await startFakeApollo({ appId: 'broken-app' });
    onCleanup(() => broken.close());
    broken.publishContent('vault.yaml', 'state:\n  vault:\n    redisPassword: fx-torn-yaml-pw: x\n');
    for (const command of ['validate', 'diff']) {
      const stateDir = await tempDir('asa-secrets-');
      const args = ['--apollo-config-service', broken.url, '--app-id', 'broken-app', '--namespace', 'vault.yaml', '--state-dir', stateDir];
      // runCli fails the test if the secret reaches stdout or stderr.
      const result = await runCli([command, ...args]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stdout + result.stderr, /vault\.yaml.*redisPassword: \*\*\*/);
    }
  });
});

describe('an agent config file that cannot be parsed, the parser quoting the access key secret', () => {
  it('validate names the problem on one line, without the secret', async () => {
    const dir = await tempDir('asa-secrets-');
    const config = join(dir, 'agent.yaml');
    await writeFile(config, 'appId: x\napolloConfigService: http://127.0.0.1:1\naccessKeySecret: "fx-torn-config-secret\n');
    const result = await runCli(['validate', '--config', config, '--state-dir', join(dir, 'state')]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /fx-torn-config-secret/);
    assert.match(result.stdout, /accessKeySecret: "\*\*\*/);
    const problems = result.stdout.split('\n').filter((line) => line.startsWith('  - '));
    assert.match(problems[0]!, /agent\.yaml: Missing closing "quote.*\\n/, 'the parser error, its line breaks shown escaped');
    assert.equal(result.stdout.trimEnd().split('\n').length, 1 + problems.length, result.stdout);
  });
});
