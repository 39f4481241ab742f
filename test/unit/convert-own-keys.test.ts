import assert from 'node:assert/strict';
import { it } from 'node:test';
import { convertLayottoConfig } from '../../src/convert/layotto-config.js';

function layotto(grpcConfig: string): unknown {
  return JSON.parse(`{"servers":[{"listeners":[{"filter_chains":[{"filters":[{"type":"grpc","config":{"grpc_config":${grpcConfig}}}]}]}]}]}`);
}

it('convert carries names like Object properties as data and lists "constructor" as an unknown section', () => {
  const { components, unsupported } = convertLayottoConfig(
    layotto('{"state":{"__proto__":{"metadata":{"__proto__":"1","constructor":"2"}}},"constructor":{},"custom_component":{"a/b":{"c":{"metadata":{"k":"v"}}}}}'),
  );
  assert.deepEqual(
    components.map((c) => [c.kind, c.name, Object.keys(c.metadata)]),
    [['state', '__proto__', ['__proto__', 'constructor']]],
  );
  assert.deepEqual(unsupported, [
    'grpc_config.constructor: unknown section, not a Layotto component kind',
    'grpc_config.custom_component.a/b.c: a kind cannot contain "/" (the id a/b/c would be ambiguous)',
  ]);
});
