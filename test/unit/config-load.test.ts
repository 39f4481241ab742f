import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseByteSize } from '../../src/config/byte-size.js';
import { loadAgentConfig, type ConfigInputs, type Settings } from '../../src/config/load-config.js';
import { parseOptionValue } from '../../src/config/option-values.js';
import { OPTIONS, optionEntries, type AgentOption } from '../../src/config/options.js';
import { ConfigError } from '../../src/domain/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'asa-config-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('agent config: precedence flag > env > file > default', () => {
  it('applies defaults', async () => {
    const config = await loadAgentConfig({ flags: { appId: 'a', apolloConfigService: 'http://apollo:8080' }, env: {}, cwd: dir });
    assert.equal(config.apollo?.cluster, 'default');
    assert.deepEqual(config.apollo?.namespaces, ['application']);
    assert.equal(config.sidecar, '127.0.0.1:34904');
    assert.equal(config.stateDir, join(dir, '.apollo-sidecar-agent'));
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 34980 });
    assert.equal(config.logLevel, 'info');
    assert.equal(config.logFormat, 'json');
    assert.equal(config.resyncIntervalMs, 300_000);
  });

  it('a flag beats env, env beats the file, the file beats the default', async () => {
    const path = await file('layers.yaml', 'appId: from-file\ncluster: file-cluster\nsidecar: 10.0.0.1:1\nlogLevel: debug\napolloConfigService: http://file:8080\n');
    const config = await loadAgentConfig({
      flags: { config: path, appId: 'from-flag' },
      env: { APOLLO_APP_ID: 'from-env', APOLLO_CLUSTER: 'env-cluster', SIDECAR_ADDRESS: '10.0.0.2:2' },
      cwd: dir,
    });
    assert.equal(config.apollo?.appId, 'from-flag');
    assert.equal(config.apollo?.cluster, 'env-cluster');
    assert.equal(config.sidecar, '10.0.0.2:2');
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.apollo?.configServices, ['http://file:8080']);
  });

  it('reads the config file from AGENT_CONFIG, JSON too, and comma lists from env', async () => {
    const path = await file('agent.json', JSON.stringify({ file: ['./a.yaml'], resyncInterval: '30s', http: 'off' }));
    const config = await loadAgentConfig({ flags: {}, env: { AGENT_CONFIG: path, AGENT_FILES: 'x.yaml, y.yaml' }, cwd: dir });
    assert.deepEqual(config.files, [join(dir, 'x.yaml'), join(dir, 'y.yaml')]);
    assert.equal(config.resyncIntervalMs, 30_000);
    assert.equal(config.http, 'off');
    assert.equal(config.apollo, undefined);
  });

  it('reads the access key secret from a file, keeping it out of argv', async () => {
    const secretFile = await file('secret', 'df23df3f59884980844ff3dada30fa97\n');
    const config = await loadAgentConfig({
      flags: { appId: 'a', apolloMeta: 'http://meta:8080', accessKeySecretFile: secretFile },
      env: {},
      cwd: dir,
    });
    assert.equal(config.apollo?.accessKeySecret, 'df23df3f59884980844ff3dada30fa97');
  });

  it('reports every problem at once, each with its path', async () => {
    const path = await file('bad.yaml', 'appId: 7\nunknownKey: 1\ncomponents:\n  - { kind: state, prefix: "x." }\n');
    const problems = await problemsOf(loadAgentConfig({ flags: { config: path }, env: {}, cwd: dir }));
    assert.ok(problems.some((p) => p.includes('appId')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('unknownKey')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('components.0.name')), problems.join('\n'));
  });

  it('rejects bad values of every kind in one go', async () => {
    const problems = await problemsOf(
      loadAgentConfig({
        flags: { appId: 'a', sidecar: 'nohost', http: 'x', logLevel: 'loud', logFormat: 'xml', resyncInterval: 'soon' },
        env: {},
        cwd: dir,
      }),
    );
    assert.equal(problems.length, 6, problems.join('\n'));
  });

  it('refuses a sidecar port a client cannot dial', async () => {
    for (const sidecar of ['127.0.0.1:70000', '127.0.0.1:0', 'host:', ':34904', 'a b:1']) {
      const problems = await problemsOf(loadAgentConfig({ flags: { appId: 'a', apolloConfigService: 'http://apollo:8080', sidecar }, env: {}, cwd: dir }));
      assert.deepEqual(problems, [`--sidecar: ${JSON.stringify(sidecar)} is not HOST:PORT`]);
    }
    const config = await loadAgentConfig({ flags: { appId: 'a', apolloConfigService: 'http://apollo:8080', sidecar: 'layotto:65535' }, env: {}, cwd: dir });
    assert.equal(config.sidecar, 'layotto:65535');
  });

  it('requires a source, and appId when Apollo is used', async () => {
    assert.match((await problemsOf(loadAgentConfig({ flags: {}, env: {}, cwd: dir })))[0]!, /no source/);
    const problems = await problemsOf(loadAgentConfig({ flags: { apolloMeta: 'http://meta' }, env: {}, cwd: dir }));
    assert.ok(problems.some((p) => p.startsWith('appId')));
  });

  it('names an unreadable config file', async () => {
    const problems = await problemsOf(loadAgentConfig({ flags: { config: join(dir, 'missing.yaml') }, env: {}, cwd: dir }));
    assert.match(problems[0]!, /missing\.yaml/);
  });
});

const apollo = { appId: 'a', apolloConfigService: 'http://apollo:8080' };

const problemsWith = (inputs: ConfigInputs): Promise<readonly string[]> => problemsOf(loadAgentConfig({ cwd: dir, ...inputs }));

describe('maxPushBytes and cacheSecrets', () => {
  it('default to 4 MiB and true', async () => {
    const config = await loadAgentConfig({ flags: apollo, env: {}, cwd: dir });
    assert.equal(config.maxPushBytes, 4_194_304);
    assert.equal(config.cacheSecrets, true);
  });

  it('come from a flag, an env var or the file, in binary units or plain bytes', async () => {
    const path = join(dir, 'sizes.yaml');
    await writeFile(path, 'maxPushBytes: 512KiB\ncacheSecrets: false\n');
    const fromFile = await loadAgentConfig({ flags: { ...apollo, config: path }, env: {}, cwd: dir });
    assert.equal(fromFile.maxPushBytes, 524_288);
    assert.equal(fromFile.cacheSecrets, false);
    const fromEnv = await loadAgentConfig({ flags: apollo, env: { AGENT_MAX_PUSH_BYTES: '100000', AGENT_CACHE_SECRETS: 'false' }, cwd: dir });
    assert.equal(fromEnv.maxPushBytes, 100_000);
    assert.equal(fromEnv.cacheSecrets, false);
    const fromFlag = await loadAgentConfig({ flags: { ...apollo, maxPushBytes: '4MiB', cacheSecrets: true }, env: { AGENT_CACHE_SECRETS: 'false' }, cwd: dir });
    assert.equal(fromFlag.maxPushBytes, 4_194_304);
    assert.equal(fromFlag.cacheSecrets, true);
  });

  it('refuse decimal units, zero and other words with one line each', async () => {
    for (const bad of ['4MB', '1.5MiB', '0', '-1', 'big', '3GiB']) {
      const problems = await problemsWith({ flags: { ...apollo, maxPushBytes: bad }, env: {} });
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0]!, /^--max-push-bytes: .* like 4MiB, 512KiB or 100000/);
    }
    const problems = await problemsWith({ flags: apollo, env: { AGENT_CACHE_SECRETS: 'maybe' } });
    assert.deepEqual(problems, ['AGENT_CACHE_SECRETS: "maybe" is not true or false']);
  });

  it('parseByteSize reads KiB, MiB, GiB and bytes only', () => {
    assert.equal(parseByteSize('4MiB'), 4_194_304);
    assert.equal(parseByteSize('1 KiB'), 1024);
    assert.equal(parseByteSize('1GiB'), 1024 ** 3);
    assert.equal(parseByteSize('100000'), 100_000);
    assert.equal(parseByteSize('4MB'), undefined);
    assert.equal(parseByteSize('4k'), undefined);
  });
});

describe('the config file takes only its own keys', () => {
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
    it(`${key}: one "unknown setting" line, no TypeError`, async () => {
      const path = join(dir, `${key}.yaml`);
      await writeFile(path, `${key}: 1\nappId: a\napolloMeta: http://meta:8080\n`);
      const problems = await problemsWith({ flags: { config: path }, env: {} });
      assert.deepEqual(problems, [`${path}: ${key}: unknown setting`]);
    });
  }
});

describe('Apollo URLs', () => {
  it('refuses user info without printing the password', async () => {
    const problems = await problemsWith({ flags: { appId: 'a', apolloMeta: 'http://u:PASS@meta:8080' }, env: {} });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^--apollo-meta: http:\/\/\*\*\*@meta:8080.* user name or password/);
    assert.doesNotMatch(problems.join('\n'), /PASS/);
    const services = await problemsWith({ flags: { appId: 'a', apolloConfigService: 'http://ok:8080,https://me:SECRET@cs:8080' }, env: {} });
    assert.equal(services.length, 1, services.join('\n'));
    assert.match(services[0]!, /^--apollo-config-service: https:\/\/\*\*\*@cs:8080/);
    assert.doesNotMatch(services.join('\n'), /SECRET/);
  });

  it('never echoes user info of a URL that is not http(s) either', async () => {
    const problems = await problemsWith({ flags: { appId: 'a', apolloMeta: 'ftp://u:PASS@meta' }, env: {} });
    assert.match(problems[0]!, /^--apollo-meta: "ftp:\/\/\*\*\*@meta" is not an http\(s\) URL/);
  });

  it('requires a config service or a meta server when Apollo is a source, in one line', async () => {
    const problems = await problemsWith({ flags: { appId: 'a' }, env: {} });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /apolloMeta \/ apolloConfigService: one is required/);
  });
});

describe('the option table drives env vars, file keys and value checks', () => {
  const agentRows = optionEntries().filter((entry): entry is [keyof Settings, AgentOption] => entry[1].scope === 'agent');
  const BAD: Partial<Record<string, string>> = { choice: 'loud', duration: '5', size: '4MB', boolean: 'maybe' };

  it('every checked option refuses a bad env value naming its env var', async () => {
    for (const [, row] of agentRows) {
      const bad = BAD[row.value.kind];
      if (!bad || !row.env) continue;
      const problems = await problemsWith({ flags: apollo, env: { [row.env]: bad } });
      assert.equal(problems.length, 1, `${row.env}: ${problems.join('\n')}`);
      assert.ok(problems[0]!.startsWith(`${row.env}: "${bad}"`), problems[0]);
    }
  });

  it('every option with a file key is accepted in the file; the file cannot name another file', async () => {
    for (const [key, row] of agentRows) {
      const path = join(dir, `key-${key}.yaml`);
      await writeFile(path, `${key}: ${row.value.kind === 'rules' ? '[]' : row.value.kind === 'boolean' ? 'true' : '"x"'}\n`);
      const problems = await problemsWith({ flags: { ...apollo, config: path }, env: {} }).catch(() => []);
      const unknown = problems.some((p) => p.endsWith(`${key}: unknown setting`));
      assert.equal(unknown, row.inFile === false, `${key}: ${problems.join('\n')}`);
    }
  });

  it('durations need a unit and stay within their bounds', () => {
    const resync = OPTIONS.resyncInterval.value;
    const timeout = OPTIONS.timeout.value;
    assert.deepEqual(parseOptionValue(resync, '30s'), { value: 30_000 });
    assert.deepEqual(parseOptionValue(resync, '1.5h'), { value: 5_400_000 });
    assert.deepEqual(parseOptionValue(resync, '0'), { value: 0 });
    assert.deepEqual(parseOptionValue(resync, '24d'), { value: 24 * 86_400_000 });
    for (const bad of ['5', '30', '9s', '25d', '600h', '1ms', 'soon', '-1s']) assert.ok('problem' in parseOptionValue(resync, bad), bad);
    assert.deepEqual(parseOptionValue(timeout, '100ms'), { value: 100 });
    for (const bad of ['3', '0', '99ms', '25d']) assert.ok('problem' in parseOptionValue(timeout, bad), bad);
  });

  it('a value-taking option given empty is a problem, not the current directory', async () => {
    const problems = await problemsWith({ flags: { ...apollo, stateDir: '' }, env: {} });
    assert.deepEqual(problems, ['--state-dir: is empty; give a value or leave it out']);
  });
});
