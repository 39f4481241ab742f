import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadAgentConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/domain/errors.js';

it('a namespace listed twice (case or .properties aside) is a config problem, checked once in config', async () => {
  await assert.rejects(
    loadAgentConfig({ flags: { appId: 'a', apolloConfigService: 'http://apollo:8080', namespace: ['app', 'APP.properties'] }, env: {}, cwd: '/' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, ['--namespace: APP.properties is listed twice (Apollo names are case-insensitive)']);
      return true;
    },
  );
});
