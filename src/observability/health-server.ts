import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { redactDeep, stringifyPrintable, type KnownSecrets } from '../domain/masking.js';
import type { Logger } from './logger.js';

export interface Readiness {
  readonly ready: boolean;
  /** Shown as the JSON body of /readyz: why the agent is (not) ready, per component. */
  readonly detail: unknown;
}

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness: () => Readiness;
  /** The JSON body of /status: what the sidecar runs (built by the agent, masked here). */
  status: () => unknown;
  logger: Logger;
  /** Scrubbed from served bodies (a sidecar's error quoting a component's password). */
  knownSecrets?: KnownSecrets;
}

/** `/healthz`, `/readyz`, `/status` and `/metrics` on one small HTTP server: all that `run` exposes. */
export class HealthServer {
  private readonly server: Server;
  /** Where it listens, read once when bound: `server.address()` is null once it is closed. */
  private readonly bound: AddressInfo;

  private constructor(server: Server) {
    this.server = server;
    this.bound = server.address() as AddressInfo;
  }

  static async start(options: HealthServerOptions): Promise<HealthServer> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const readiness = options.readiness();
        res
          .writeHead(readiness.ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(`${stringifyPrintable(redactDeep({ ready: readiness.ready, ...(readiness.detail as object) }, options.knownSecrets), 2)}\n`);
      } else if (path === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(`${stringifyPrintable(redactDeep(options.status(), options.knownSecrets), 2)}\n`);
      } else if (path === '/metrics') {
        options.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
          (error: unknown) => {
            options.logger.error('metrics collection failed', { error: String(error) });
            res.writeHead(500).end();
          },
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz, /status or /metrics\n');
      }
    });
    // Health probes must never keep the process alive on their own or hold a drain open.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolvePromise, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolvePromise();
      });
    });
    return new HealthServer(server);
  }

  get port(): number {
    return this.bound.port;
  }

  get address(): string {
    const { family, address, port } = this.bound;
    return `${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolvePromise) => this.server.close(() => resolvePromise()));
  }
}
