/** The Go Lifecycle server (layotto-lifecycle) as a child process: its calls, a crash, a graceful stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitUntil } from '../support/wait.js';
import { buildLifecycleServer } from './build.js';

export interface GoCall {
  readonly id: string;
  readonly code: string;
  readonly message: string;
  readonly bytes: number;
  readonly metadata: Readonly<Record<string, string | number>> | null;
}

export interface GoLifecycleServer {
  readonly address: string;
  /** Every RPC the servers on this address answered, across restarts, in order. */
  readonly calls: GoCall[];
  callsFor(id: string): GoCall[];
  /** SIGKILL (a crash) or SIGTERM (GracefulStop: GOAWAY, calls in flight finish), then the same address again. */
  restart(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  close(): Promise<void>;
}

export async function startGoLifecycle(args: readonly string[] = []): Promise<GoLifecycleServer> {
  const binary = await buildLifecycleServer();
  const calls: GoCall[] = [];
  let child: ChildProcess | undefined;
  let address = '127.0.0.1:0';

  async function spawnServer(): Promise<void> {
    let listening: string | undefined;
    let buffered = '';
    const started = spawn(binary, ['-listen', address, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as { event: string; address?: string } & GoCall;
        buffered = buffered.slice(newline + 1);
        if (line.event === 'listening') listening = line.address;
        else calls.push({ id: line.id, code: line.code, message: line.message, bytes: line.bytes, metadata: line.metadata });
      }
    });
    child = started;
    await waitUntil(() => listening !== undefined || started.exitCode !== null, 10_000, 'the Go server to listen');
    if (listening === undefined) throw new Error(`the Go server exited (${started.exitCode})`);
    address = listening;
  }

  async function stop(signal: NodeJS.Signals): Promise<void> {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill(signal);
    await exited;
  }

  await spawnServer();
  return {
    get address() {
      return address;
    },
    calls,
    callsFor: (id) => calls.filter((call) => call.id === id),
    async restart(signal) {
      await stop(signal);
      await spawnServer();
    },
    close: () => stop('SIGKILL'),
  };
}
