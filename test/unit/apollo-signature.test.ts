import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apolloSignature, signatureHeaders } from '../../src/sources/apollo/signature.js';

test('signature matches the apollo-core test vector', () => {
  assert.equal(
    apolloSignature('df23df3f59884980844ff3dada30fa97', '1576478257344', '/configs/100004458/default/application?ip=10.0.0.1'),
    'EoKyziXvKqzHgwx+ijDJwgVTDgE=',
  );
});

test('signature headers carry the timestamp and "Apollo appId:signature"', () => {
  const headers = signatureHeaders('100004458', 'df23df3f59884980844ff3dada30fa97', '/configs/100004458/default/application?ip=10.0.0.1', 1576478257344);
  assert.deepEqual(headers, {
    Timestamp: '1576478257344',
    Authorization: 'Apollo 100004458:EoKyziXvKqzHgwx+ijDJwgVTDgE=',
  });
});

test('signature depends on the query as sent', () => {
  const a = apolloSignature('s', '1', '/configs/a/default/application?ip=10.0.0.1');
  const b = apolloSignature('s', '1', '/configs/a/default/application?ip=10.0.0.2');
  assert.notEqual(a, b);
});
