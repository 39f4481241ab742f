/**
 * deploy/prometheus and deploy/grafana checked with the real tools: promtool parses the rules
 * and runs each alert's unit tests, parses every dashboard query, and every metric they name
 * is one a running agent (`run` against the fakes) really exports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runCleanups, tempDir } from '../support/cleanups.js';
import { startRunSandbox } from '../support/run-sandbox.js';
import { waitUntil } from '../support/wait.js';
import { kustomize, validateObject } from './render.js';

const run = promisify(execFile);
const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const RULES = join(DEPLOY, 'prometheus/apollo-sidecar-agent.rules.yaml');
const RULE_TESTS = join(DEPLOY, 'prometheus/apollo-sidecar-agent.rules.test.yaml');
const DASHBOARD = join(DEPLOY, 'grafana/apollo-sidecar-agent.json');

afterEach(runCleanups);

interface RuleGroups {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}
interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

const readYaml = async <T>(path: string): Promise<T> => parse(await readFile(path, 'utf8')) as T;

async function dashboardQueries(): Promise<{ title: string; expr: string }[]> {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
  return dashboard.panels.flatMap((panel) => panel.targets.map(({ expr }) => ({ title: panel.title, expr })));
}

/** The metric names a PromQL expression reads: the agent's own and the standard process/Node ones. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:apollo_sidecar_agent|process|nodejs)_[a-z_]+\b/g)].map((match) => match[0]);
}

/** Grafana's variables, as Grafana would substitute them, so that promtool can parse the query. */
const asPromql = (expr: string): string => expr.replaceAll('$__rate_interval', '5m').replaceAll('$namespace', '.*');

describe('deploy/prometheus and deploy/grafana', () => {
  it('promtool: the rules are valid and every alert has a unit test that fires it', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', RULES]);
    assert.match(stdout, /SUCCESS: 7 rules found/);
    const tested = await run('promtool', ['test', 'rules', RULE_TESTS]);
    assert.match(tested.stdout, /SUCCESS/);
    const alerts = (await readYaml<RuleGroups>(RULES)).groups.flatMap((g) => g.rules.map((r) => r.alert));
    const firing = new Set(
      (await readYaml<RuleTests>(RULE_TESTS)).tests.flatMap((t) => t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
    );
    for (const alert of alerts) assert.ok(firing.has(alert!), `a unit test in which ${alert} fires`);
  });

  it('promtool test rules fails when an alert does not fire as its test expects', async () => {
    const dir = await tempDir('asa-rules-');
    const rules = await readYaml<RuleGroups>(RULES);
    const outOfSync = rules.groups[0]!.rules.find((r) => r.alert === 'ApolloSidecarAgentOutOfSync')!;
    outOfSync.expr = outOfSync.expr.replace('<', '>');
    await writeFile(join(dir, 'apollo-sidecar-agent.rules.yaml'), stringify(rules));
    await writeFile(join(dir, 'tests.yaml'), await readFile(RULE_TESTS, 'utf8'));
    await assert.rejects(run('promtool', ['test', 'rules', join(dir, 'tests.yaml')]), /FAILED/);
  });

  it('the PrometheusRule carries exactly the plain file\'s groups; it and the PodMonitor validate', async () => {
    const objects = await kustomize(join(DEPLOY, 'prometheus'));
    for (const object of objects) await validateObject(object);
    const rule = objects.find((o) => o.kind === 'PrometheusRule') as unknown as { spec: RuleGroups };
    assert.deepEqual(rule.spec.groups, (await readYaml<RuleGroups>(RULES)).groups);
    assert.ok(objects.some((o) => o.kind === 'PodMonitor'));
  });

  it('promtool parses every dashboard query', async () => {
    const queries = await dashboardQueries();
    assert.ok(queries.length >= 15, `${queries.length} queries`);
    const dir = await tempDir('asa-dashboard-');
    const file = join(dir, 'dashboard-queries.yaml');
    const rules = queries.map(({ expr }, i) => ({ record: `dashboard:query_${i}`, expr: asPromql(expr) }));
    await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const { stdout } = await run('promtool', ['check', 'rules', file]);
    assert.match(stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
  });

  it('every metric the rules and the dashboard read is on a running agent\'s /metrics', async () => {
    const used = new Map<string, string>();
    for (const group of (await readYaml<RuleGroups>(RULES)).groups) {
      for (const rule of group.rules) for (const name of metricNames(rule.expr)) used.set(name, `alert ${rule.alert}`);
    }
    for (const { title, expr } of await dashboardQueries()) for (const name of metricNames(expr)) used.set(name, `panel "${title}"`);
    assert.ok(used.size >= 15, [...used.keys()].join(' '));

    const { http, sidecar } = await startRunSandbox({ appId: 'orders', items: REDIS_RELEASE });
    await sidecar.waitFor((s) => s.current('state/redis') !== undefined, 10_000);
    let exported = new Set<string>();
    await waitUntil(
      async () => {
        const text = await (await fetch(`http://${http}/metrics`)).text();
        exported = new Set(text.split('\n').filter((l) => /^[a-z]/.test(l)).map((l) => /^[a-zA-Z_:][\w:]*/.exec(l)![0]));
        return exported.has('apollo_sidecar_agent_release_to_apply_seconds_bucket');
      },
      10_000,
      'a release applied',
    );
    const missing = [...used].filter(([name]) => !exported.has(name)).map(([name, where]) => `${name} (${where})`);
    assert.deepEqual(missing, []);
  });
});
