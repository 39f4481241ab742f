import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isSecretKey, KnownSecrets, maskSecretForms, secretValuesOf } from '../../src/domain/masking.js';

it('secret forms are found in linear time: a 5.4 MB value (the push size test) takes well under a second', () => {
  const value = 'x'.repeat(5_400_000);
  const started = performance.now();
  assert.deepEqual(secretValuesOf({ blob: value, tail: `${'y'.repeat(1_000_000)} password=hunter22` }), ['hunter22']);
  new KnownSecrets().replace([{ metadata: { blob: value } }]);
  assert.equal(maskSecretForms(`${'z'.repeat(1_000_000)}:`), `${'z'.repeat(1_000_000)}:`);
  const elapsed = performance.now() - started;
  // Quadratic, 200 KB alone took minutes; linear, this is tens of milliseconds even on a loaded machine.
  assert.ok(elapsed < 5_000, `${Math.round(elapsed)} ms`);
});

it('a key of one long run of capitals is split into words in linear time (a 1 MB key from a release took minutes)', () => {
  const capitals = 'A'.repeat(1_000_000);
  const started = performance.now();
  assert.equal(isSecretKey(capitals), false);
  assert.equal(maskSecretForms(`${capitals}=x`), `${capitals}=x`);
  assert.deepEqual(secretValuesOf({ [`${capitals}Password`]: 'hunter22' }), ['hunter22']);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 5_000, `${Math.round(elapsed)} ms`);
  // The split itself is unchanged: a run of capitals ends before the capital that starts a word.
  assert.equal(isSecretKey('HTTPToken'), true);
  assert.equal(isSecretKey('SSLKey'), true);
  assert.equal(isSecretKey('KEYPrefix'), false);
});
