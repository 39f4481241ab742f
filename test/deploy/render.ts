/** Manifests as Kubernetes sees them: rendered by `kubectl kustomize`, checked by the API's JSON schemas. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

export async function kustomize(dir: string): Promise<KubeObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize ${dir}: ${doc.errors[0]!.message}`);
    return doc.toJS() as KubeObject;
  });
}

/** The kubernetes-models class of an object's apiVersion and kind; throws for one it does not know. */
async function modelOf(object: KubeObject): Promise<new (data: unknown) => { validate(): void }> {
  const module: Record<string, unknown> =
    object.apiVersion === 'monitoring.coreos.com/v1'
      ? await import(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${object.kind}`)
      : await import(`kubernetes-models/${object.apiVersion}/${object.kind}`);
  const model = module[object.kind];
  if (typeof model !== 'function') throw new Error(`no model for ${object.apiVersion} ${object.kind}`);
  return model as new (data: unknown) => { validate(): void };
}

/** Validates `object` against its API type's schema; throws naming the object and what is wrong. */
export async function validateObject(object: KubeObject): Promise<void> {
  const Model = await modelOf(object);
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${object.kind}/${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
