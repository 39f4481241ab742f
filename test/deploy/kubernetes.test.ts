/**
 * deploy/kubernetes rendered with the real kustomize (kubectl kustomize) and every object
 * validated against the Kubernetes API's JSON schemas (kubernetes-models), plus what the
 * schemas cannot say: the agent starts after Layotto and before the application, every
 * volume a container mounts exists, every ConfigMap and Secret referenced is rendered.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, it } from 'node:test';
import { runCleanups, tempDir } from '../support/cleanups.js';
import { kustomize, validateObject, type KubeObject } from './render.js';

afterEach(runCleanups);

const DEPLOY = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Container {
  name: string;
  image: string;
  restartPolicy?: string;
  startupProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
  env?: { name: string; value?: string }[];
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
}

const podSpec = (workload: KubeObject): PodSpec => (workload as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const workloads = (objects: readonly KubeObject[]): KubeObject[] => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');

/** What a pod needs from the render: each mount's volume, each volume's ConfigMap or Secret. */
function assertReferencesResolve(objects: readonly KubeObject[]): void {
  const names = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const workload of workloads(objects)) {
    const spec = podSpec(workload);
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const mount of container.volumeMounts ?? []) {
        assert.ok(volumes.has(mount.name), `${workload.metadata.name}/${container.name} mounts ${mount.name}, which no volume defines`);
      }
    }
    for (const volume of volumes.values()) {
      if (volume.configMap) assert.ok(names.has(`ConfigMap/${volume.configMap.name}`), `ConfigMap ${volume.configMap.name} is rendered`);
      if (volume.secret) assert.ok(names.has(`Secret/${volume.secret.secretName}`), `Secret ${volume.secret.secretName} is rendered`);
    }
  }
}

function assertHardened(agent: Container): void {
  assert.deepEqual(agent.securityContext, {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.deepEqual(agent.resources, { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '128Mi' } });
  assert.equal(agent.image, `registry.example.com/apollo-sidecar-agent:${version}`, 'the image of this version');
  assert.deepEqual(
    agent.volumeMounts?.map((m) => m.mountPath),
    ['/etc/apollo-sidecar-agent', '/var/run/secrets/apollo-sidecar-agent', '/var/lib/apollo-sidecar-agent'],
  );
  // The agent refuses the emptyDir's own root (root-owned, 0777): its state dir is one it creates inside.
  assert.equal(agent.env?.find((e) => e.name === 'AGENT_STATE_DIR')?.value, '/var/lib/apollo-sidecar-agent/state');
  assert.equal(agent.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(agent.readinessProbe?.httpGet?.path, '/readyz');
}

async function renderValid(dir: string): Promise<KubeObject[]> {
  const objects = await kustomize(dir);
  for (const object of objects) await validateObject(object);
  assertReferencesResolve(objects);
  return objects;
}

describe('deploy/kubernetes', () => {
  it('example/native: valid objects; the agent is a native sidecar after Layotto, gating the application on /readyz', async () => {
    const objects = await renderValid(join(DEPLOY, 'example/native'));
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'ConfigMap', 'Deployment', 'Secret']);
    const spec = podSpec(workloads(objects)[0]!);
    assert.deepEqual(spec.initContainers?.map((c) => [c.name, c.restartPolicy]), [['layotto', 'Always'], ['apollo-sidecar-agent', 'Always']]);
    assert.deepEqual(spec.containers.map((c) => c.name), ['orders-service']);
    const agent = spec.initContainers![1]!;
    assert.equal(agent.startupProbe?.httpGet?.path, '/readyz');
    assertHardened(agent);
  });

  it('example/legacy: valid objects; the agent is a plain container beside Layotto and the application', async () => {
    const objects = await renderValid(join(DEPLOY, 'example/legacy'));
    const spec = podSpec(workloads(objects)[0]!);
    assert.equal(spec.initContainers, undefined);
    assert.deepEqual(spec.containers.map((c) => c.name), ['layotto', 'orders-service', 'apollo-sidecar-agent']);
    const agent = spec.containers[2]!;
    assert.equal(agent.restartPolicy, undefined);
    assert.equal(agent.startupProbe, undefined, 'a plain container cannot hold the others');
    assertHardened(agent);
  });

  it('the Component adds the agent to an annotated StatefulSet and leaves a workload without the annotation alone', async () => {
    const dir = await tempDir('asa-kustomize-');
    const pod = (name: string) => ({
      metadata: { labels: { app: name } },
      spec: { initContainers: [{ name: 'layotto', image: 'layotto/layotto:latest', restartPolicy: 'Always' }], containers: [{ name, image: `${name}:1` }] },
    });
    const resources = [
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'ledger', annotations: { 'apollo-sidecar-agent/inject': 'true' } },
        spec: { serviceName: 'ledger', selector: { matchLabels: { app: 'ledger' } }, template: pod('ledger') },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'untouched' },
        spec: { selector: { matchLabels: { app: 'untouched' } }, template: pod('untouched') },
      },
    ];
    await writeFile(join(dir, 'workloads.yaml'), resources.map((r) => JSON.stringify(r)).join('\n---\n'));
    await writeFile(
      join(dir, 'kustomization.yaml'),
      JSON.stringify({
        // kustomize takes only relative paths.
        resources: [relative(dir, join(DEPLOY, 'example/config')), 'workloads.yaml'],
        components: [relative(dir, join(DEPLOY, 'sidecar'))],
      }),
    );
    const objects = await renderValid(dir);
    const byName = new Map(workloads(objects).map((w) => [w.metadata.name, podSpec(w)]));
    assert.deepEqual(byName.get('ledger')?.initContainers?.map((c) => c.name), ['layotto', 'apollo-sidecar-agent']);
    assert.deepEqual(byName.get('untouched')?.initContainers?.map((c) => c.name), ['layotto']);
    assert.equal(byName.get('untouched')?.volumes, undefined);
  });

  it('the schema check is real: a wrong type in the render is refused', async () => {
    const [deployment] = workloads(await kustomize(join(DEPLOY, 'example/native')));
    const broken = structuredClone(deployment!) as KubeObject & { spec: { template: { spec: PodSpec } } };
    (broken.spec.template.spec.initContainers![1]! as unknown as { restartPolicy: number }).restartPolicy = 1;
    await assert.rejects(validateObject(broken), /restartPolicy must be string/);
  });
});
