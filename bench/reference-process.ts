/**
 * bench/reference-client.ts as a child process, started and stopped the way the agent binary
 * is. It is transpiled to plain JavaScript first (TypeScript's transpileModule, into a temp
 * dir that links this repo's node_modules), so that, like the agent running from dist/, it
 * carries no TypeScript loader: its latency and its memory are those of the client alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { waitUntil } from '../test/support/wait.js';

const SOURCE = fileURLToPath(new URL('./reference-client.ts', import.meta.url));
const NODE_MODULES = fileURLToPath(new URL('../node_modules', import.meta.url));
const PROTO = fileURLToPath(new URL('../proto/lifecycle.proto', import.meta.url));

export interface ReferenceProcess {
  readonly pid: number;
  stop(timeoutMs?: number): Promise<number | NodeJS.Signals>;
}

export interface ReferenceProcessOptions {
  readonly configService: string;
  readonly appId: string;
  readonly namespace: string;
  readonly sidecar: string;
  readonly readyTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function buildScript(): Promise<{ dir: string; script: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'apollo-sidecar-agent-bench-reference-'));
  await symlink(NODE_MODULES, join(dir, 'node_modules'), 'dir');
  const { outputText } = ts.transpileModule(await readFile(SOURCE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 },
    fileName: SOURCE,
  });
  const script = join(dir, 'reference-client.mjs');
  await writeFile(script, outputText);
  return { dir, script };
}

export async function startReferenceProcess(options: ReferenceProcessOptions): Promise<ReferenceProcess> {
  const { dir, script } = await buildScript();
  const child = spawn(
    process.execPath,
    [
      script,
      '--config-service', options.configService,
      '--app-id', options.appId,
      '--namespace', options.namespace,
      '--sidecar', options.sidecar,
      '--proto', PROTO,
    ],
    { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
  const stop = async (timeoutMs = 5_000): Promise<number | NodeJS.Signals> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    await waitUntil(() => out.includes('ready\n') || child.exitCode !== null, options.readyTimeoutMs ?? 15_000, 'the reference client to push');
    if (child.exitCode !== null) throw new Error(`reference client exited (${child.exitCode}): ${err}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid!, stop };
}
