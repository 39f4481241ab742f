import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertNoLeak, rememberSecrets } from '../support/leak-check.js';

describe('the suite-wide leak check', () => {
  it('fails on a published secret or a fixture secret, without repeating the value', () => {
    rememberSecrets({ 'state.redis.redisPassword': 'hunter2-published', 'state.redis.url': 'redis://:in-a-url-pw@h' });
    assert.doesNotThrow(() => assertNoLeak('a log', 'redisPassword=*** url=redis://:***@h'));
    for (const leaked of ['pw hunter2-published', 'dial redis://:in-a-url-pw@h', 'sasl fx-sasl-password-7f3a']) {
      assert.throws(
        () => assertNoLeak('a log', leaked),
        (error: Error) => /^secret value\(s\) leaked in a log: /.test(error.message) && !error.message.includes(leaked.split(' ')[1]!),
      );
    }
  });
});
