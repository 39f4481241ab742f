import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createMetrics, registerProcessMetrics } from '../../src/observability/metrics.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `name{labels} value` lines of the exposition, comments dropped. */
async function samples(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

describe('metrics', () => {
  test('every counter of a known label set is present at 0 from the start, build_info is 1', async () => {
    const metrics = createMetrics();
    metrics.initNamespaces(['application', 'redis.yaml']);
    const lines = await samples(metrics.registry);
    for (const expected of [
      `apollo_sidecar_agent_build_info{version="${version}"} 1`,
      'apollo_sidecar_agent_config_reloads_total{result="success"} 0',
      'apollo_sidecar_agent_config_reloads_total{result="failure"} 0',
      'apollo_sidecar_agent_state_write_failures_total{file="ledger"} 0',
      'apollo_sidecar_agent_state_write_failures_total{file="apollo_cache"} 0',
      'apollo_sidecar_agent_apollo_last_successful_poll_timestamp_seconds 0',
      'apollo_sidecar_agent_resyncs_total{reason="reconnect"} 0',
      'apollo_sidecar_agent_resyncs_total{reason="periodic"} 0',
      'apollo_sidecar_agent_resyncs_total{reason="reload"} 0',
      'apollo_sidecar_agent_apollo_polls_total{result="error"} 0',
      'apollo_sidecar_agent_apollo_fetches_total{result="not_found"} 0',
      'apollo_sidecar_agent_releases_rejected_total{namespace="application"} 0',
      'apollo_sidecar_agent_releases_rejected_total{namespace="redis.yaml"} 0',
      'apollo_sidecar_agent_sidecar_connections_total 0',
    ]) {
      assert.ok(lines.includes(expected), `${expected} in\n${lines.join('\n')}`);
    }
  });

  test('a component gets its outcome and attempt series at 0; no outcome is called retry', async () => {
    const metrics = createMetrics();
    metrics.initComponent('state', 'redis');
    const lines = await samples(metrics.registry);
    for (const result of ['applied', 'rejected', 'failed']) {
      assert.ok(lines.includes(`apollo_sidecar_agent_applies_total{kind="state",name="redis",result="${result}"} 0`), result);
    }
    assert.ok(lines.includes('apollo_sidecar_agent_apply_attempts_total{kind="state",name="redis"} 0'));
    assert.ok(!(await metrics.registry.metrics()).includes('retry"'), 'the help text lists no retry outcome either');
    assert.ok(!(await metrics.registry.metrics()).includes('start'), 'no resync reason that is never recorded');
  });

  test('process metrics only when asked, under their standard unprefixed names', async () => {
    const metrics = createMetrics();
    assert.ok(!(await metrics.registry.metrics()).includes('process_resident_memory_bytes'), 'the library leaves them to its host');
    const registry = new Registry();
    createMetrics(registry);
    registerProcessMetrics(registry);
    const lines = await samples(registry);
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'process_start_time_seconds']) {
      assert.ok(lines.some((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`)), name);
    }
    assert.ok(!lines.some((line) => line.startsWith('apollo_sidecar_agent_process_') || line.startsWith('apollo_sidecar_agent_nodejs_')));
  });
});
