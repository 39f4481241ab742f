/**
 * The bare reference the agent is measured against: the least a program can do to carry an
 * Apollo release to Layotto. One `/notifications/v2` long-poll, one `/configs` fetch, one
 * `Lifecycle/ApplyConfiguration` per changed component with @grpc/grpc-js, and nothing else:
 * no ledger, no cache, no coalescing, no metrics, no logs, no poll spacing, and no retry policy
 * beyond a fixed 1 s pause after an error (so a broken Apollo cannot make it spin).
 *
 * Run as its own process, like the agent, so both pay the same process and event-loop costs
 * (bench/reference-process.ts runs it as plain JavaScript, as the agent runs from dist/):
 *   node --import tsx bench/reference-client.ts --config-service URL --app-id ID \
 *     --namespace NS --sidecar HOST:PORT [--proto proto/lifecycle.proto]
 * It prints `ready` on stdout after its first push and runs until SIGTERM/SIGINT.
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

export interface ReferenceClientOptions {
  readonly configService: string;
  readonly appId: string;
  readonly cluster: string;
  readonly namespace: string;
  /** `host:port` of the Lifecycle service. */
  readonly sidecar: string;
  /** Default: proto/lifecycle.proto of this repository. */
  readonly protoPath?: string;
  /** Called once, after the first release has been pushed. */
  readonly onReady?: () => void;
}

const DEFAULT_PROTO_PATH = fileURLToPath(new URL('../proto/lifecycle.proto', import.meta.url));
const APPLY_PATH = '/spec.proto.runtime.v1.Lifecycle/ApplyConfiguration';
/** Not a retry policy: only so that an unreachable Apollo cannot make the loop spin. */
const ERROR_PAUSE_MS = 1_000;
const CALL_DEADLINE_MS = 5_000;

const notificationsSchema = z.array(z.object({ namespaceName: z.string(), notificationId: z.number().int() }));
const configsSchema = z.object({ releaseKey: z.string(), configurations: z.record(z.string(), z.string()) });

type Metadata = Record<string, string>;

interface ApplyRequest {
  componentConfig: { kind: string; name: string; metadata: Metadata };
}

function applyMethod(protoPath: string): { serialize: (value: ApplyRequest) => Buffer; deserialize: (bytes: Buffer) => unknown } {
  const definition = loadSync(protoPath, { keepCase: false, defaults: true });
  const service = definition['spec.proto.runtime.v1.Lifecycle'] as Record<string, grpc.MethodDefinition<ApplyRequest, unknown>> | undefined;
  const method = service?.['ApplyConfiguration'];
  if (!method || method.path !== APPLY_PATH) throw new Error(`${protoPath} does not define ${APPLY_PATH}`);
  return { serialize: method.requestSerialize, deserialize: method.responseDeserialize };
}

type Component = ApplyRequest['componentConfig'];

/**
 * The components of a release that differ from what was last sent, by `<kind>.<name>.<metadataKey>`
 * (the least mapping that yields the same pushes as the agent's convention); `sent` is updated.
 */
export function changedComponents(configurations: Readonly<Record<string, string>>, sent: Map<string, string>): Component[] {
  const byId = new Map<string, Component>();
  for (const [key, value] of Object.entries(configurations)) {
    const first = key.indexOf('.');
    const second = first < 0 ? -1 : key.indexOf('.', first + 1);
    if (second < 0) continue;
    const kind = key.slice(0, first);
    const name = key.slice(first + 1, second);
    const id = `${kind}/${name}`;
    let component = byId.get(id);
    if (!component) {
      component = { kind, name, metadata: {} };
      byId.set(id, component);
    }
    component.metadata[key.slice(second + 1)] = value;
  }
  const changed: Component[] = [];
  for (const [id, component] of byId) {
    const text = JSON.stringify(Object.entries(component.metadata).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (sent.get(id) === text) continue;
    sent.set(id, text);
    changed.push(component);
  }
  return changed;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Polls, fetches and pushes until `signal` aborts; never throws. */
export async function runReferenceClient(options: ReferenceClientOptions, signal: AbortSignal): Promise<void> {
  const { serialize, deserialize } = applyMethod(options.protoPath ?? DEFAULT_PROTO_PATH);
  const client = new grpc.Client(options.sidecar, grpc.credentials.createInsecure());
  const base = options.configService.replace(/\/+$/, '');
  const configsUrl = `${base}/configs/${[options.appId, options.cluster, options.namespace].map(encodeURIComponent).join('/')}`;
  const sent = new Map<string, string>();
  let notificationId = -1;
  let ready = false;

  const apply = (config: Component): Promise<void> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(APPLY_PATH, serialize, deserialize, { componentConfig: config }, new grpc.Metadata(), {
        deadline: Date.now() + CALL_DEADLINE_MS,
      }, (error) => (error ? reject(error) : resolve()));
    });

  try {
    while (!signal.aborted) {
      try {
        const notifications = JSON.stringify([{ namespaceName: options.namespace, notificationId }]);
        const query = new URLSearchParams({ appId: options.appId, cluster: options.cluster, notifications });
        const poll = await fetch(`${base}/notifications/v2?${query}`, { signal });
        if (poll.status === 304) {
          await poll.body?.cancel();
          continue;
        }
        if (poll.status !== 200) throw new Error(`notifications answered ${poll.status}`);
        const changed = notificationsSchema.parse(await poll.json()).find((n) => n.namespaceName === options.namespace);
        if (!changed) continue;
        const response = await fetch(configsUrl, { signal });
        if (response.status !== 200) throw new Error(`configs answered ${response.status}`);
        const release = configsSchema.parse(await response.json());
        notificationId = changed.notificationId;
        await Promise.all(changedComponents(release.configurations, sent).map(apply));
        if (!ready) {
          ready = true;
          options.onReady?.();
        }
      } catch {
        if (!signal.aborted) await pause(ERROR_PAUSE_MS, signal);
      }
    }
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'config-service': { type: 'string' },
      'app-id': { type: 'string' },
      cluster: { type: 'string', default: 'default' },
      namespace: { type: 'string', default: 'application' },
      sidecar: { type: 'string' },
      proto: { type: 'string' },
    },
  });
  const configService = values['config-service'];
  const appId = values['app-id'];
  const sidecar = values.sidecar;
  if (!configService || !appId || !sidecar) throw new Error('--config-service, --app-id and --sidecar are required');
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  await runReferenceClient(
    {
      configService,
      appId,
      cluster: values.cluster,
      namespace: values.namespace,
      sidecar,
      ...(values.proto ? { protoPath: values.proto } : {}),
      onReady: () => process.stdout.write('ready\n'),
    },
    controller.signal,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`reference client failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
