/**
 * A fake Layotto sidecar: the real Lifecycle gRPC service (proto/lifecycle.proto) on 127.0.0.1,
 * behaving like Layotto's ApplyConfiguration, with faults that tests can switch at run time.
 *
 * ```ts
 * const sidecar = await startFakeLayotto({ port: 0, components: ['state/redis'] });
 * sidecar.address;                      // '127.0.0.1:<port>' for --sidecar / GrpcSidecarClient
 * sidecar.calls;                        // every ApplyConfiguration received, in arrival order
 * sidecar.callsFor('state/redis');      // the same, for one component
 * sidecar.current('state/redis');       // metadata of the last accepted call, or undefined
 * await sidecar.waitFor((s) => s.callsFor('state/redis').length === 2, 5000);
 * sidecar.failNext(2, 'UNAVAILABLE');   // the next 2 calls (any component) fail with that status
 * sidecar.failComponent('state/redis', 'UNKNOWN', 'redis down'); // its ApplyConfig fails until healed
 * sidecar.healComponent('state/redis');
 * sidecar.setDelay(200);                // every answer comes 200 ms late (a slow sidecar)
 * sidecar.hang(true);                   // calls are received but never answered
 * await sidecar.restart();              // same port, state emptied, faults kept, calls kept
 * await sidecar.stop();                 // force shutdown; `start()` or `restart()` brings it back
 * await sidecar.close();                // final stop, for `after()`
 * ```
 *
 * What grpc-go refuses before Layotto's handler runs, with grpc-go's codes and messages: a
 * request over its 4 MiB receive limit (RESOURCE_EXHAUSTED "grpc: received message larger than
 * max (N vs. 4194304)", N the encoded request) and invalid UTF-8 in a string field (INTERNAL
 * "grpc: error unmarshalling request: string field contains invalid UTF-8"). Such calls are
 * recorded too, so that tests can count them.
 *
 * Layotto's own answers: INVALID_ARGUMENT "field <kind|name|metadata> is not configured" for an
 * empty field, INVALID_ARGUMENT "component not found. kind: <kind>, name: <name>" for a
 * component it does not know (only when `components` is given; by default every component is
 * known). Order of checks per call: grpc-go's transport checks, hang, failNext, Layotto
 * validation, failComponent, delay.
 */
import * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { transportFault, type TransportChecked } from './grpc-go-limits.js';
import {
  lifecycleService,
  type ApplyConfigurationResponseMessage,
  type DynamicConfigurationMessage,
} from '../support/lifecycle-proto.js';

export type StatusName = keyof typeof grpc.status;
/** A gRPC status by name (`'UNAVAILABLE'`) or number. */
export type StatusLike = StatusName | grpc.status;

export interface FakeLayottoOptions {
  /** 0 (default) picks a free port; restart() keeps whatever was picked. */
  port?: number;
  /** `kind/name` of the components this sidecar knows; default: it accepts any. */
  components?: readonly string[];
}

export interface RecordedCall {
  readonly id: string;
  /** Size of the encoded request (the gRPC message, without its 5-byte frame header). */
  readonly bytes: number;
  readonly kind: string;
  readonly name: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Date.now() when the call arrived. */
  readonly receivedAt: number;
  /** performance.now() when the call arrived: sub-millisecond, for timing against this process's clock. */
  readonly receivedAtHr: number;
  /** The status the fake decided to answer: 'OK', a status name, or 'NO_ANSWER' while hanging. */
  readonly code: StatusName | 'NO_ANSWER';
  readonly message?: string;
}

export interface FakeLayotto {
  readonly address: string;
  readonly port: number;
  readonly calls: readonly RecordedCall[];
  callsFor(id: string): RecordedCall[];
  current(id: string): Readonly<Record<string, string>> | undefined;
  waitFor(predicate: (sidecar: FakeLayotto) => boolean, timeoutMs?: number): Promise<void>;
  failNext(count: number, code: StatusLike, message?: string): void;
  failComponent(id: string, code: StatusLike, message?: string): void;
  healComponent(id: string): void;
  setDelay(ms: number): void;
  hang(on: boolean): void;
  /** Forgets recorded calls (not the applied state). */
  clearCalls(): void;
  isRunning(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

const requestSchema = z.object({
  componentConfig: z
    .object({
      kind: z.string().default(''),
      name: z.string().default(''),
      metadata: z.record(z.string(), z.string()).default({}),
    })
    .nullish(),
});

interface Fault {
  readonly code: StatusName;
  readonly message: string;
}

function statusName(code: StatusLike): StatusName {
  if (typeof code === 'string') return code;
  const name = grpc.status[code];
  if (name === undefined) throw new Error(`unknown gRPC status ${code}`);
  return name as StatusName;
}

function fault(code: StatusLike, message: string | undefined): Fault {
  const name = statusName(code);
  return { code: name, message: message ?? `injected ${name}` };
}

function answer(callback: grpc.sendUnaryData<ApplyConfigurationResponseMessage>, result: Fault | undefined): void {
  if (result === undefined) callback(null, {});
  else callback({ code: grpc.status[result.code], details: result.message });
}

export async function startFakeLayotto(options: FakeLayottoOptions = {}): Promise<FakeLayotto> {
  const known = options.components ? new Set(options.components) : undefined;
  const calls: RecordedCall[] = [];
  let applied = new Map<string, Readonly<Record<string, string>>>();
  let failures: { remaining: number; fault: Fault } | undefined;
  const componentFaults = new Map<string, Fault>();
  let delayMs = 0;
  let hanging = false;
  let port = options.port ?? 0;
  let server: grpc.Server | undefined;
  let closed = false;
  const delayTimers = new Set<NodeJS.Timeout>();

  function validate(kind: string, name: string, metadata: Record<string, string>): Fault | undefined {
    for (const [field, empty] of [
      ['kind', kind === ''],
      ['name', name === ''],
      ['metadata', Object.keys(metadata).length === 0],
    ] as const) {
      if (empty) return { code: 'INVALID_ARGUMENT', message: `field ${field} is not configured` };
    }
    if (known && !known.has(`${kind}/${name}`)) {
      return { code: 'INVALID_ARGUMENT', message: `component not found. kind: ${kind}, name: ${name}` };
    }
    return undefined;
  }

  function decide(id: string, kind: string, name: string, metadata: Record<string, string>): Fault | undefined {
    if (failures && failures.remaining > 0) {
      failures.remaining -= 1;
      return failures.fault;
    }
    return validate(kind, name, metadata) ?? componentFaults.get(id);
  }

  function handle(
    call: grpc.ServerUnaryCall<TransportChecked<DynamicConfigurationMessage>, ApplyConfigurationResponseMessage>,
    callback: grpc.sendUnaryData<ApplyConfigurationResponseMessage>,
  ): void {
    const { message, bytes, refused } = call.request;
    const parsed = requestSchema.safeParse(message);
    const config = parsed.success ? parsed.data.componentConfig : undefined;
    const kind = config?.kind ?? '';
    const name = config?.name ?? '';
    const metadata = config?.metadata ?? {};
    const id = `${kind}/${name}`;
    const receivedAt = Date.now();
    const receivedAtHr = performance.now();
    const seen = { id, bytes, kind, name, metadata, receivedAt, receivedAtHr };
    if (refused) {
      calls.push({ ...seen, code: refused.code, message: refused.message });
      answer(callback, refused);
      return;
    }
    if (hanging) {
      calls.push({ ...seen, code: 'NO_ANSWER' });
      return;
    }
    const result = decide(id, kind, name, metadata);
    calls.push({ ...seen, code: result?.code ?? 'OK', ...(result ? { message: result.message } : {}) });
    // Layotto applies before it answers: the state changes when the (delayed) answer goes out.
    const finish = (): void => {
      if (result === undefined) applied.set(id, metadata);
      answer(callback, result);
    };
    if (delayMs <= 0) {
      finish();
      return;
    }
    const timer = setTimeout(() => {
      delayTimers.delete(timer);
      finish();
    }, delayMs);
    delayTimers.add(timer);
  }

  async function start(): Promise<void> {
    if (closed) throw new Error('fake Layotto is closed');
    if (server) return;
    // grpc-js's own receive limit is off: the handler answers as grpc-go would, and records the call.
    const next = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
    const { definition, applyConfiguration } = lifecycleService();
    const checked = {
      ...definition,
      ApplyConfiguration: {
        ...applyConfiguration,
        requestDeserialize: (bytes: Buffer) => ({ ...transportFault(bytes), message: applyConfiguration.requestDeserialize(bytes), bytes: bytes.length }),
      },
    };
    next.addService(checked, { ApplyConfiguration: handle });
    port = await new Promise<number>((resolve, reject) => {
      next.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      );
    });
    server = next;
  }

  async function stop(): Promise<void> {
    for (const timer of delayTimers) clearTimeout(timer);
    delayTimers.clear();
    const current = server;
    server = undefined;
    current?.forceShutdown();
  }

  const sidecar: FakeLayotto = {
    get address() {
      return `127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get calls() {
      return calls;
    },
    callsFor: (id) => calls.filter((c) => c.id === id),
    current: (id) => applied.get(id),
    async waitFor(predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(sidecar)) {
        if (Date.now() > deadline) {
          const seen = calls.map((c) => `${c.id}:${c.code}`).join(', ');
          throw new Error(`fake Layotto: condition not met within ${timeoutMs} ms (calls: ${seen || 'none'})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    failNext(count, code, message) {
      failures = { remaining: count, fault: fault(code, message) };
    },
    failComponent(id, code, message) {
      componentFaults.set(id, fault(code, message));
    },
    healComponent(id) {
      componentFaults.delete(id);
    },
    setDelay(ms) {
      delayMs = ms;
    },
    hang(on) {
      hanging = on;
    },
    clearCalls() {
      calls.length = 0;
    },
    isRunning: () => server !== undefined,
    start,
    stop,
    async restart() {
      await stop();
      applied = new Map();
      await start();
    },
    async close() {
      closed = true;
      await stop();
    },
  };
  await start();
  return sidecar;
}
