import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseByteSize } from '../../src/config/byte-size.js';
import { loadAgentConfig, type ConfigInputs } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/domain/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'asa-config-fields-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const apollo = { appId: 'a', apolloConfigService: 'http://apollo:8080' };

async function problemsOf(inputs: ConfigInputs): Promise<readonly string[]> {
  try {
    await loadAgentConfig({ cwd: dir, ...inputs });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

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
      const problems = await problemsOf({ flags: { ...apollo, maxPushBytes: bad }, env: {} });
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0]!, /^maxPushBytes: .* like 4MiB, 512KiB or 100000/);
    }
    const problems = await problemsOf({ flags: apollo, env: { AGENT_CACHE_SECRETS: 'maybe' } });
    assert.deepEqual(problems, ['cacheSecrets: "maybe" is not true or false']);
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
      const problems = await problemsOf({ flags: { config: path }, env: {} });
      assert.deepEqual(problems, [`${path}: ${key}: unknown setting`]);
    });
  }
});

describe('Apollo URLs', () => {
  it('refuses user info without printing the password', async () => {
    const problems = await problemsOf({ flags: { appId: 'a', apolloMeta: 'http://u:PASS@meta:8080' }, env: {} });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /^apolloMeta: http:\/\/\*\*\*@meta:8080.* user name or password/);
    assert.doesNotMatch(problems.join('\n'), /PASS/);
    const services = await problemsOf({ flags: { appId: 'a', apolloConfigService: 'http://ok:8080,https://me:SECRET@cs:8080' }, env: {} });
    assert.equal(services.length, 1, services.join('\n'));
    assert.match(services[0]!, /^apolloConfigService: https:\/\/\*\*\*@cs:8080/);
    assert.doesNotMatch(services.join('\n'), /SECRET/);
  });

  it('never echoes user info of a URL that is not http(s) either', async () => {
    const problems = await problemsOf({ flags: { appId: 'a', apolloMeta: 'ftp://u:PASS@meta' }, env: {} });
    assert.match(problems[0]!, /^apolloMeta: "ftp:\/\/\*\*\*@meta" is not an http\(s\) URL/);
  });

  it('requires a config service or a meta server when Apollo is a source, in one line', async () => {
    const problems = await problemsOf({ flags: { appId: 'a' }, env: {} });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0]!, /apolloMeta \/ apolloConfigService: one is required/);
  });
});
