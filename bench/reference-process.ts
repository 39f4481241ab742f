/**
 * bench/reference-client.ts as a child process, started and stopped the way the agent binary
 * is. It is transpiled to plain JavaScript first (TypeScript's transpileModule, into a temp
 * dir that links this repo's node_modules), so that, like the agent running from dist/, it
 * carries no TypeScript loader: its latency and its memory are those of the client alone.
 */
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { startNodeScript } from '../test/support/agent-process.js';
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
  const reference = startNodeScript(script, [
    '--config-service', options.configService,
    '--app-id', options.appId,
    '--namespace', options.namespace,
    '--sidecar', options.sidecar,
    '--proto', PROTO,
  ]);
  const stop = async (timeoutMs = 5_000): Promise<number | NodeJS.Signals> => {
    try {
      return await reference.stop('SIGTERM', timeoutMs);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    await waitUntil(
      () => reference.stdout().includes('ready\n') || reference.child.exitCode !== null,
      options.readyTimeoutMs ?? 15_000,
      'the reference client to push',
    );
    if (reference.child.exitCode !== null) throw new Error(`reference client exited (${reference.child.exitCode}): ${reference.stderr()}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: reference.child.pid!, stop };
}
