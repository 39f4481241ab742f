/**
 * A fake Apollo config service (with its meta server endpoint) that speaks the real wire
 * protocol, for tests, the demo and benchmarks. Loopback only; port 0 unless told otherwise.
 *
 *   const apollo = await startFakeApollo({ appId?, cluster?, holdMs = 60000, accessKeySecret?, port? });
 *   apollo.url                      config service base URL, http://127.0.0.1:<port>
 *   apollo.metaUrl                  meta server base URL (same server); GET /services/config lists
 *                                   this service, or whatever setMetaServices() gave
 *   apollo.publish(ns, items)       new properties release: new releaseKey, notificationId + 1,
 *                                   held polls watching ns are answered at once
 *   apollo.publishContent(ns, text) the same for json/yaml/xml/txt namespaces ({content: text})
 *   apollo.deleteRelease(ns)        the namespace has no release any more (/configs → 404); notifies
 *   apollo.release(ns)              the current release of ns, or undefined
 *   apollo.requests                 every request: method, kind, path, query, headers, status, times
 *   apollo.clearRequests()
 *   apollo.openPolls()              how many long-polls are held right now
 *   apollo.setHoldMs(ms)            change the hold of polls started from now on
 *   apollo.setFault(fault, { paths = 'all', times })
 *                                   fault: { mode: 'status', status } | { mode: 'reset' } | { mode: 'hang' }
 *                                   | { mode: 'malformed' } (an HTML page, 200) | { mode: 'truncated' } (half a
 *                                   release, 200) | { mode: 'wrongShape' } | { mode: 'redirect', location }
 *                                   (302 to another URL, the rest of the path kept) | { mode: 'raw', body, headers? }
 *                                   (200 with exactly that body: `null`, a huge or gzip-bombed one) | null (clear);
 *                                   paths: 'configs' | 'notifications' | 'meta' | 'all';
 *                                   times: how many matching requests fail (default: until cleared)
 *   apollo.setMetaServices(urls)    what /services/config lists (null: this service)
 *   apollo.setAccessKeySecret(s)    turn the access-key check on (a secret) or off (undefined)
 *   apollo.stop() / apollo.start()  go down (every connection dropped) and come back on the same port
 *   apollo.close()                  stop for good
 *
 * Protocol as Apollo serves it: `/configs/{appId}/{cluster}/{namespace}` answers 200 with the
 * full release, 304 when `releaseKey` is current, 404 without a release; `/notifications/v2`
 * answers at once when a namespace's id is newer than the client's (-1: unknown), else holds
 * and answers 304; 400 on a malformed `notifications`. Namespace names match
 * case-insensitively with `.properties` stripped; `/configs` answers with the server's own
 * spelling, notifications with the client's (as NotificationControllerV2 does). With an access
 * key every configs/notifications request must carry `Timestamp` and
 * `Authorization: Apollo {appId}:{HMAC-SHA1}` within ±60 s, else 401.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rememberSecrets } from '../support/leak-check.js';

export interface FakeApolloOptions {
  /** Default `sidecar-demo`. */
  readonly appId?: string;
  /** Default `default`. */
  readonly cluster?: string;
  /** How long a long-poll is held before 304. Default 60000, like Apollo. */
  readonly holdMs?: number;
  readonly accessKeySecret?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
}

export type FakeFault =
  | { readonly mode: 'status'; readonly status: number }
  | { readonly mode: 'reset' }
  | { readonly mode: 'hang' }
  | { readonly mode: 'malformed' }
  | { readonly mode: 'truncated' }
  | { readonly mode: 'wrongShape' }
  | { readonly mode: 'redirect'; readonly location: string }
  | { readonly mode: 'raw'; readonly body: string | Buffer; readonly headers?: Readonly<Record<string, string>> };

export type FaultPaths = 'configs' | 'notifications' | 'meta' | 'all';

export type RequestKind = 'configs' | 'notifications' | 'meta' | 'other';

export interface RecordedRequest {
  readonly method: string;
  readonly kind: RequestKind;
  /** The raw path and query exactly as received. */
  readonly rawUrl: string;
  /** Decoded path segments. */
  readonly segments: readonly string[];
  /** Decoded query parameters. */
  readonly query: Readonly<Record<string, string>>;
  readonly timestamp: string | undefined;
  readonly authorization: string | undefined;
  readonly receivedAt: number;
  /** performance.now() at receipt and answer: sub-millisecond, for timing against this process's clock. */
  readonly receivedAtHr: number;
  /** 0 until answered; stays 0 for a reset or a hang. */
  status: number;
  answeredAt: number | undefined;
  answeredAtHr: number | undefined;
}

export interface FakeRelease {
  readonly releaseKey: string;
  readonly configurations: Readonly<Record<string, string>>;
  readonly notificationId: number;
}

export interface FakeApollo {
  readonly url: string;
  readonly metaUrl: string;
  readonly port: number;
  readonly appId: string;
  readonly cluster: string;
  readonly requests: readonly RecordedRequest[];
  publish(namespace: string, items: Readonly<Record<string, string>>): FakeRelease;
  publishContent(namespace: string, text: string): FakeRelease;
  deleteRelease(namespace: string): void;
  release(namespace: string): FakeRelease | undefined;
  clearRequests(): void;
  openPolls(): number;
  setHoldMs(ms: number): void;
  setFault(fault: FakeFault | null, options?: { paths?: FaultPaths; times?: number }): void;
  setMetaServices(urls: readonly string[] | null): void;
  setAccessKeySecret(secret: string | undefined): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

interface StoredNamespace {
  /** The server's own spelling. */
  readonly name: string;
  release: { releaseKey: string; configurations: Record<string, string> } | undefined;
  notificationId: number;
}

interface ClientNotification {
  readonly namespaceName: string;
  readonly notificationId: number;
}

interface HeldPoll {
  readonly appId: string;
  readonly cluster: string;
  readonly entries: readonly ClientNotification[];
  readonly res: ServerResponse;
  readonly record: RecordedRequest;
  readonly timer: NodeJS.Timeout;
}

interface ActiveFault {
  readonly fault: FakeFault;
  readonly paths: FaultPaths;
  remaining: number;
}

const SKEW_MS = 60_000;

function normalize(namespace: string): string {
  const stripped = namespace.toLowerCase().endsWith('.properties') ? namespace.slice(0, -'.properties'.length) : namespace;
  return stripped.toLowerCase();
}

function releaseKey(): string {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  return `${stamp}-${randomBytes(8).toString('hex')}`;
}

function parseNotifications(text: string | undefined): ClientNotification[] | undefined {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(json) || json.length === 0) return undefined;
  const entries: ClientNotification[] = [];
  for (const item of json as unknown[]) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { namespaceName, notificationId } = item as Record<string, unknown>;
    if (typeof namespaceName !== 'string' || namespaceName === '') return undefined;
    if (typeof notificationId !== 'number' || !Number.isInteger(notificationId)) return undefined;
    entries.push({ namespaceName, notificationId });
  }
  return entries;
}

export async function startFakeApollo(options: FakeApolloOptions = {}): Promise<FakeApollo> {
  const appId = options.appId ?? 'sidecar-demo';
  const cluster = options.cluster ?? 'default';
  let holdMs = options.holdMs ?? 60_000;
  let secret = options.accessKeySecret;
  let port = options.port ?? 0;
  let metaServices: readonly string[] | null = null;
  let activeFault: ActiveFault | undefined;
  let lastNotificationId = 0;
  const namespaces = new Map<string, StoredNamespace>();
  const held = new Set<HeldPoll>();
  const requests: RecordedRequest[] = [];
  let server: Server | undefined;
  let closed = false;

  const selfUrl = (): string => `http://127.0.0.1:${port}`;

  function answer(res: ServerResponse, record: RecordedRequest, status: number, body?: unknown): void {
    record.status = status;
    record.answeredAt = Date.now();
    record.answeredAtHr = performance.now();
    if (res.destroyed || res.headersSent) return;
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function changesFor(poll: { appId: string; cluster: string; entries: readonly ClientNotification[] }): unknown[] {
    if (poll.appId !== appId || poll.cluster !== cluster) return [];
    const changes: unknown[] = [];
    for (const entry of poll.entries) {
      const stored = namespaces.get(normalize(entry.namespaceName));
      if (!stored || stored.notificationId <= entry.notificationId) continue;
      changes.push({
        namespaceName: entry.namespaceName,
        notificationId: stored.notificationId,
        messages: { details: { [`${appId}+${cluster}+${stored.name}`]: stored.notificationId } },
      });
    }
    return changes;
  }

  function wakeHeldPolls(): void {
    for (const poll of [...held]) {
      const changes = changesFor(poll);
      if (changes.length === 0) continue;
      held.delete(poll);
      clearTimeout(poll.timer);
      answer(poll.res, poll.record, 200, changes);
    }
  }

  function authorized(req: IncomingMessage, record: RecordedRequest): boolean {
    if (!secret) return true;
    const timestamp = record.timestamp;
    const authorization = record.authorization;
    if (!timestamp || !authorization || !/^\d+$/.test(timestamp)) return false;
    if (Math.abs(Date.now() - Number(timestamp)) > SKEW_MS) return false;
    const expected = `Apollo ${appId}:${createHmac('sha1', secret).update(`${timestamp}\n${req.url ?? ''}`).digest('base64')}`;
    const a = Buffer.from(authorization);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Applies the active fault if it matches; true when the request has been dealt with. */
  function applyFault(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): boolean {
    const active = activeFault;
    if (!active || record.kind === 'other') return false;
    if (active.paths !== 'all' && active.paths !== record.kind) return false;
    active.remaining -= 1;
    if (active.remaining <= 0) activeFault = undefined;
    switch (active.fault.mode) {
      case 'status':
        answer(res, record, active.fault.status, { status: active.fault.status, message: 'fault injected' });
        return true;
      case 'reset':
        req.socket.destroy();
        return true;
      case 'hang':
        return true;
      case 'malformed':
        answer(res, record, 200, '<html><body>502 Bad Gateway</body></html>');
        return true;
      case 'truncated': {
        const whole = JSON.stringify({ appId, cluster, namespaceName: record.segments[3] ?? '', configurations: { a: 'b' }, releaseKey: 'truncated' });
        answer(res, record, 200, whole.slice(0, Math.floor(whole.length / 2)));
        return true;
      }
      case 'wrongShape':
        answer(res, record, 200, record.kind === 'configs' ? { appId, configurations: 'not-a-map' } : { unexpected: true });
        return true;
      case 'raw':
        record.status = 200;
        record.answeredAt = Date.now();
        record.answeredAtHr = performance.now();
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(active.fault.body), ...active.fault.headers });
        res.end(active.fault.body);
        return true;
      case 'redirect':
        record.status = 302;
        record.answeredAt = Date.now();
        record.answeredAtHr = performance.now();
        res.writeHead(302, { Location: `${active.fault.location.replace(/\/+$/, '')}${req.url ?? '/'}` }).end();
        return true;
    }
  }

  function handleConfigs(res: ServerResponse, record: RecordedRequest): void {
    const [, reqAppId, reqCluster, reqNamespace] = record.segments;
    if (record.segments.length !== 4 || reqAppId === undefined || reqCluster === undefined || reqNamespace === undefined) {
      answer(res, record, 404);
      return;
    }
    const stored = reqAppId === appId && reqCluster === cluster ? namespaces.get(normalize(reqNamespace)) : undefined;
    const release = stored?.release;
    if (!stored || !release) {
      answer(res, record, 404);
      return;
    }
    if (record.query['releaseKey'] === release.releaseKey) {
      answer(res, record, 304);
      return;
    }
    answer(res, record, 200, {
      appId,
      cluster,
      namespaceName: stored.name,
      configurations: release.configurations,
      releaseKey: release.releaseKey,
    });
  }

  function handleNotifications(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): void {
    const entries = parseNotifications(record.query['notifications']);
    const pollAppId = record.query['appId'];
    const pollCluster = record.query['cluster'];
    if (!entries || !pollAppId || !pollCluster) {
      answer(res, record, 400, { status: 400, message: 'malformed notifications' });
      return;
    }
    const poll = { appId: pollAppId, cluster: pollCluster, entries };
    const changes = changesFor(poll);
    if (changes.length > 0) {
      answer(res, record, 200, changes);
      return;
    }
    const timer = setTimeout(() => {
      held.delete(heldPoll);
      answer(res, record, 304);
    }, holdMs);
    const heldPoll: HeldPoll = { ...poll, res, record, timer };
    held.add(heldPoll);
    // The response, not the keep-alive socket: a socket carries poll after poll, and a listener
    // per poll on it would pile up.
    res.once('close', () => {
      clearTimeout(timer);
      held.delete(heldPoll);
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const rawUrl = req.url ?? '/';
    const [rawPath = '/', rawQuery = ''] = rawUrl.split('?', 2);
    let segments: string[];
    try {
      segments = rawPath.split('/').filter((segment) => segment !== '').map((segment) => decodeURIComponent(segment));
    } catch {
      segments = [];
    }
    const kind: RequestKind =
      segments[0] === 'configs'
        ? 'configs'
        : segments[0] === 'notifications' && segments[1] === 'v2' && segments.length === 2
          ? 'notifications'
          : segments[0] === 'services' && segments[1] === 'config' && segments.length === 2
            ? 'meta'
            : 'other';
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      kind,
      rawUrl,
      segments,
      query: Object.fromEntries(new URLSearchParams(rawQuery)),
      timestamp: header('timestamp'),
      authorization: header('authorization'),
      receivedAt: Date.now(),
      receivedAtHr: performance.now(),
      status: 0,
      answeredAt: undefined,
      answeredAtHr: undefined,
    };
    requests.push(record);

    if (applyFault(req, res, record)) return;
    if (req.method !== 'GET' || kind === 'other') {
      answer(res, record, 404);
      return;
    }
    if (kind === 'meta') {
      const urls = metaServices ?? [selfUrl()];
      answer(
        res,
        record,
        200,
        urls.map((url, i) => ({ appName: 'APOLLO-CONFIGSERVICE', instanceId: `fake:${i}`, homepageUrl: `${url.replace(/\/+$/, '')}/` })),
      );
      return;
    }
    if (!authorized(req, record)) {
      answer(res, record, 401, { status: 401, message: 'Unauthorized' });
      return;
    }
    if (kind === 'configs') handleConfigs(res, record);
    else handleNotifications(req, res, record);
  }

  /** A new release of `namespace` (or its removal, for undefined), announced like Apollo does. */
  function store(namespace: string, configurations: Record<string, string> | undefined): StoredNamespace {
    const key = normalize(namespace);
    const existing = namespaces.get(key);
    const stored: StoredNamespace = existing ?? {
      name: namespace.toLowerCase().endsWith('.properties') ? namespace.slice(0, -'.properties'.length) : namespace,
      release: undefined,
      notificationId: 0,
    };
    lastNotificationId += 1;
    stored.notificationId = lastNotificationId;
    stored.release = configurations ? { releaseKey: releaseKey(), configurations } : undefined;
    namespaces.set(key, stored);
    wakeHeldPolls();
    return stored;
  }

  function released(stored: StoredNamespace | undefined): FakeRelease | undefined {
    return stored?.release ? { ...stored.release, notificationId: stored.notificationId } : undefined;
  }

  function publishRelease(namespace: string, configurations: Record<string, string>): FakeRelease {
    rememberSecrets(configurations);
    const stored = store(namespace, configurations);
    return { releaseKey: stored.release?.releaseKey ?? '', configurations, notificationId: stored.notificationId };
  }

  async function listen(): Promise<void> {
    const next = createServer(handle);
    next.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        next.off('error', reject);
        resolve();
      });
    });
    port = (next.address() as AddressInfo).port;
    server = next;
  }

  async function stop(): Promise<void> {
    const current = server;
    server = undefined;
    for (const poll of held) clearTimeout(poll.timer);
    held.clear();
    if (!current) return;
    await new Promise<void>((resolve) => {
      current.close(() => resolve());
      current.closeAllConnections();
    });
  }

  await listen();

  return {
    get url() {
      return selfUrl();
    },
    get metaUrl() {
      return selfUrl();
    },
    get port() {
      return port;
    },
    appId,
    cluster,
    requests,
    publish: (namespace, items) => publishRelease(namespace, { ...items }),
    publishContent: (namespace, text) => publishRelease(namespace, { content: text }),
    deleteRelease: (namespace) => {
      store(namespace, undefined);
    },
    release: (namespace) => released(namespaces.get(normalize(namespace))),
    clearRequests: () => {
      requests.length = 0;
    },
    openPolls: () => held.size,
    setHoldMs: (ms) => {
      holdMs = ms;
    },
    setFault: (fault, faultOptions = {}) => {
      activeFault = fault
        ? { fault, paths: faultOptions.paths ?? 'all', remaining: faultOptions.times ?? Number.POSITIVE_INFINITY }
        : undefined;
    },
    setMetaServices: (urls) => {
      metaServices = urls;
    },
    setAccessKeySecret: (value) => {
      secret = value;
    },
    stop,
    start: async () => {
      if (closed) throw new Error('the fake Apollo is closed');
      if (!server) await listen();
    },
    close: async () => {
      closed = true;
      await stop();
    },
  };
}
