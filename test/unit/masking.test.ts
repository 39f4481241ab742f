/**
 * The masking table, checked at every output it feeds: each key and value form of
 * test/fixtures/secrets.ts against `maskValue` (domain), the diff text, the diff JSON,
 * `render`, a JSON and a pretty log line, and `redactDeep` (what /readyz and /status serve).
 * The CLI commands and the running agent are checked end to end in
 * test/integration/secrets-outputs.test.ts.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { formatComponentsJson, formatPlanText, planToJson } from '../../src/cli/plan-format.js';
import { EMPTY_LEDGER } from '../../src/domain/ledger.js';
import {
  isSecretKey,
  KnownSecrets,
  MASK,
  maskSecretForms,
  maskValue,
  printable,
  redactDeep,
  stringifyPrintable,
  truncate,
} from '../../src/domain/masking.js';
import { createLogger, type LogFormat } from '../../src/observability/logger.js';
import { planChanges } from '../../src/planner/plan-changes.js';
import { desired } from '../fixtures/namespaces.js';
import { FIXTURE_SECRETS, leakedSecrets, PUBLIC_KEYS, SECRET_KEY_CASES, SECRET_VALUE_CASES, secretMetadata } from '../fixtures/secrets.js';

/** `state/vault` holding every fixture key, as properties. */
function vaultState(metadata: Record<string, string> = secretMetadata()) {
  const configurations: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) configurations[`state.vault.${key}`] = value;
  return desired(configurations);
}

function logLines(format: LogFormat, log: (logger: ReturnType<typeof createLogger>) => void, known?: KnownSecrets): string {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  log(createLogger({ level: 'debug', format, stream, ...(known ? { knownSecrets: known } : {}) }));
  return text;
}

/** Every output a component's metadata reaches, as text. */
const OUTPUTS: ReadonlyArray<readonly [where: string, render: (metadata: Record<string, string>) => string]> = [
  ['diff text', (metadata) => formatPlanText(planChanges(vaultState(metadata), EMPTY_LEDGER), { color: false })],
  ['diff --output json', (metadata) => planToJson(planChanges(vaultState(metadata), EMPTY_LEDGER))],
  ['render', (metadata) => formatComponentsJson(vaultState(metadata), { showSecrets: false })],
  ['JSON log line', (metadata) => logLines('json', (logger) => logger.info('applied', { metadata, ...metadata }))],
  ['pretty log line', (metadata) => logLines('pretty', (logger) => logger.warn('applied', { metadata, ...metadata }))],
  ['/readyz and /status body', (metadata) => stringifyPrintable(redactDeep({ components: { 'state/vault': { metadata } } }))],
];

describe('secret keys: the value is masked whole', () => {
  for (const { key, value } of SECRET_KEY_CASES) {
    it(`${key}`, () => {
      assert.equal(isSecretKey(key), true);
      assert.equal(maskValue(key, value), MASK);
      for (const [where, render] of OUTPUTS) assert.deepEqual(leakedSecrets(render({ [key]: value })), [], `${key} in ${where}`);
    });
  }
});

describe('secret forms inside a value: the secret part is masked, the rest shown', () => {
  for (const { key, value, secret, masked } of SECRET_VALUE_CASES) {
    it(`${key}: ${masked}`, () => {
      assert.equal(isSecretKey(key), false);
      assert.equal(maskValue(key, value), masked);
      for (const [where, render] of OUTPUTS) {
        const text = render({ [key]: value });
        assert.ok(!text.includes(secret), `${key} in ${where}: ${text}`);
      }
    });
  }
});

describe('public keys that resemble secret words are shown', () => {
  for (const key of PUBLIC_KEYS) {
    it(key, () => {
      assert.equal(isSecretKey(key), false);
      for (const [where, render] of OUTPUTS) assert.ok(render({ [key]: `shown-${key}` }).includes(`shown-${key}`), `${key} in ${where}`);
    });
  }
});

describe('free text (sidecar and Apollo errors)', () => {
  it('masks secret pairs and URL passwords in a message, keeping the rest', () => {
    assert.equal(
      maskSecretForms('redis: ERR invalid password; config sasl.password=S9-abc redisPassword: "x y" url=redis://:pw1@h:6379'),
      'redis: ERR invalid password; config sasl.password=*** redisPassword: "***" url=redis://:***@h:6379',
    );
    assert.equal(maskSecretForms('Authorization: Bearer eyJhbGciOi.abc'), 'Authorization: Bearer ***');
  });

  it('scrubs a known secret value wherever it is quoted, in logs at every level and in served bodies', () => {
    const known = new KnownSecrets();
    known.replace([{ metadata: secretMetadata() }]);
    const quoting = FIXTURE_SECRETS.map((secret) => `the sidecar echoed [${secret}]`).join('; ');
    for (const format of ['json', 'pretty'] as const) {
      const text = logLines(
        format,
        (logger) => {
          logger.error(quoting, { details: quoting });
          logger.debug('push failed; retrying', { details: quoting });
        },
        known,
      );
      assert.deepEqual(leakedSecrets(text), [], format);
      assert.match(text, /the sidecar echoed \[\*\*\*\]/);
    }
    assert.deepEqual(leakedSecrets(JSON.stringify(redactDeep({ message: quoting }, known))), []);
  });

  it('does not scrub short values, which would mask ordinary words', () => {
    const known = new KnownSecrets();
    known.replace([{ metadata: { auth: 'on', redisPassword: 'hunter22' } }]);
    assert.equal(known.scrub('switch on; hunter22'), 'switch on; ***');
  });
});

describe('text a user or an attacker controls', () => {
  const escapeKey = 'evil\u001b[2Jkey.with\nnewline';

  it('diff text shows an ESC sequence and a newline in a key escaped, never raw', () => {
    const text = formatPlanText(planChanges(desired({ [`state.redis.${escapeKey}x`]: 'v\u009b31m' }), EMPTY_LEDGER), { color: false });
    assert.ok(!text.includes('\u001b'), text);
    assert.ok(!text.includes('\u009b'), text);
    assert.ok(text.includes('evil\\u001b[2Jkey.with\\nnewlinex'), text);
    assert.equal(text.split('\n').length, 5, text);
  });

  it('diff JSON and render keep the data but escape what JSON.stringify leaves raw', () => {
    const state = desired({ 'state.redis.k': 'v\u009b\u202e' });
    for (const text of [planToJson(planChanges(state, EMPTY_LEDGER)), formatComponentsJson(state, { showSecrets: false })]) {
      assert.ok(!/[\u009b\u202e]/.test(text), text);
      assert.ok(text.includes('v\\u009b\\u202e'), text);
    }
  });

  it('a pretty log line cannot be split by a newline in a field or the message', () => {
    const text = logLines('pretty', (logger) => logger.warn(`ignored key ${escapeKey}`, { key: escapeKey, nested: { escapeKey } }));
    assert.equal(text.split('\n').filter((line) => line !== '').length, 1, text);
    assert.ok(!text.includes('\u001b'), text);
  });

  it('a pretty log line shows a field that is undefined (it threw and took the process down)', () => {
    const text = logLines('pretty', (logger) => logger.info('Apollo namespace updated', { previousReleaseKey: undefined, releaseKey: 'r1' }));
    assert.match(text, /previousReleaseKey=undefined releaseKey=r1/);
  });

  it('a 2 MB key makes a bounded log line that says how long it was', () => {
    const huge = 'k'.repeat(2 * 1024 * 1024);
    for (const format of ['json', 'pretty'] as const) {
      const text = logLines(format, (logger) => logger.warn(`key ${huge} has no three segments`, { key: huge, problems: [huge, huge] }));
      assert.ok(text.length < 20_000, `${format}: ${text.length}`);
      assert.match(text, /truncated: 2097\d{3} chars/);
    }
  });

  it('a long list in a log line is cut, saying how many were left out', () => {
    const text = logLines('json', (logger) => logger.warn('problems', { problems: Array.from({ length: 1000 }, (_, i) => `p${i}`) }));
    assert.match(text, /900 more of 1000/);
  });

  it('truncate never splits a surrogate pair; printable escapes every control character', () => {
    assert.equal(truncate('ab😀cd', 3), 'ab…[truncated: 6 chars]');
    assert.equal(printable('a\tb\rc\u0000\u007f\u2028'), 'a\\tb\\rc\\u0000\\u007f\\u2028');
  });
});
