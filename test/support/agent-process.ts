/**
 * The built CLI as a child process, exactly as users run it: `node bin/apollo-sidecar-agent.js`.
 * Collects stdout, stderr and the JSON log lines, and makes sure every process is stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertNoLeak } from './leak-check.js';
import { waitUntil } from './wait.js';

export const BIN = fileURLToPath(new URL('../../bin/apollo-sidecar-agent.js', import.meta.url));

export interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Every JSON log line the agent wrote so far. */
  readonly logs: () => LogLine[];
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  /** Sends the signal and resolves with the exit code (or the signal that ended it). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | NodeJS.Signals>;
  readonly exited: Promise<number | NodeJS.Signals>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface RunTarget {
  readonly configService: string;
  readonly appId: string;
  readonly sidecar: string;
  readonly stateDir: string;
  /** `--namespace` for each; none: the agent's default (`application`). */
  readonly namespaces?: readonly string[];
}

/** `run` against one config service and one sidecar, its HTTP server on a free loopback port. */
export function runArgs(target: RunTarget): string[] {
  return [
    'run',
    '--apollo-config-service', target.configService,
    '--app-id', target.appId,
    ...(target.namespaces ?? []).flatMap((namespace) => ['--namespace', namespace]),
    '--sidecar', target.sidecar,
    '--state-dir', target.stateDir,
    '--http', '127.0.0.1:0',
  ];
}

/** The agent binary; its stdout and stderr are checked for leaked secrets once it is stopped. */
export function startAgent(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: NodeProcessOptions = {}): AgentProcess {
  const agent = startNodeScript(BIN, args, env, options);
  return {
    ...agent,
    async stop(signal, timeoutMs) {
      const code = await agent.stop(signal, timeoutMs);
      assertNoSecretsWritten(args, agent);
      return code;
    },
  };
}

/** `--show-secrets` prints secrets on stdout on purpose; nothing else may, anywhere. */
function assertNoSecretsWritten(args: readonly string[], agent: AgentProcess): void {
  assertNoLeak(`the stderr of \`${args[0]}\``, agent.stderr());
  if (!args.includes('--show-secrets')) assertNoLeak(`the stdout of \`${args[0]}\``, agent.stdout());
}

/** How to start the process beyond script and arguments: Node's own flags, another user (as root). */
export interface NodeProcessOptions {
  readonly execArgv?: readonly string[];
  readonly uid?: number;
  readonly gid?: number;
}

/** Any Node script as a tracked child process (the agent binary, the benchmark's reference client). */
export function startNodeScript(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  options: NodeProcessOptions = {},
): AgentProcess {
  const child = spawn(process.execPath, [...(options.execArgv ?? []), script, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });
  const logs = (): LogLine[] =>
    err
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogLine];
        } catch {
          return [];
        }
      });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs,
    exited,
    async waitForLog(predicate, timeoutMs = 10_000, what = 'a log line') {
      let found: LogLine | undefined;
      await waitUntil(
        () => {
          found = logs().find(predicate);
          return found !== undefined || child.exitCode !== null;
        },
        timeoutMs,
        what,
      );
      if (!found) throw new Error(`agent exited (${child.exitCode}) before ${what}:\n${err}`);
      return found;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 8_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a one-shot command to completion. */
export async function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  const agent = startAgent(args, env);
  const timer = setTimeout(() => agent.child.kill('SIGKILL'), timeoutMs);
  const code = await agent.exited;
  clearTimeout(timer);
  assertNoSecretsWritten(args, agent);
  return { code: typeof code === 'number' ? code : -1, stdout: agent.stdout(), stderr: agent.stderr() };
}
