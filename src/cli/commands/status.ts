import { z } from 'zod';
import type { AgentStatus, ComponentStatus, SourceStatus } from '../../app/status.js';
import { AgentError, errorMessage } from '../../domain/errors.js';
import { printable, redactText, stringifyPrintable } from '../../domain/masking.js';
import { write, type CliIo } from '../command-context.js';

export interface StatusArgs {
  /** Defaults to run's default --http address (the options table). */
  agent: string;
  output: 'text' | 'json';
}

const TIMEOUT_MS = 5_000;

const releaseSchema = z.object({ namespace: z.string(), releaseKey: z.string() });
const componentSchema = z.object({
  id: z.string(),
  state: z.enum(['pending', 'pushing', 'applied', 'rejected', 'failed', 'removed']),
  inSync: z.boolean(),
  desiredHash: z.string().optional(),
  appliedHash: z.string().optional(),
  appliedAt: z.string().optional(),
  releases: z.array(releaseSchema),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
const sourceSchema = z.object({
  sourceId: z.string(),
  namespace: z.string(),
  releaseKey: z.string().optional(),
  lastSuccessAt: z.string().optional(),
  failing: z.boolean(),
  origin: z.enum(['apollo', 'cache', 'file', 'none']),
  error: z.string().optional(),
});
const statusSchema = z.object({
  version: z.string(),
  time: z.string(),
  inSync: z.boolean(),
  sidecar: z.object({ address: z.string(), connected: z.boolean() }),
  sourcesLoaded: z.boolean(),
  components: z.array(componentSchema),
  sources: z.array(sourceSchema),
});

/**
 * What a running agent's sidecar runs, read from its `GET /status`, as `istioctl proxy-status`
 * shows an Envoy's. Exit 0 in sync, 2 not in sync; an agent that cannot be reached or does not
 * answer a status is an error (1).
 */
export async function statusCommand(args: StatusArgs, io: CliIo): Promise<number> {
  const url = statusUrl(args.agent);
  const status = await fetchStatus(url);
  write(io.stdout, args.output === 'json' ? stringifyPrintable(status, 2) : formatStatus(status, url.origin));
  return status.inSync ? 0 : 2;
}

/** `http://host:port`, `host:port` or a full `/status` URL. */
function statusUrl(agent: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(agent) ? agent : `http://${agent}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new AgentError(`--agent ${agent} is not a URL; give the agent's HTTP address, HOST:PORT or http://HOST:PORT`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AgentError(`--agent ${agent}: only http and https are served`);
  if (!url.pathname.endsWith('/status')) url.pathname = `${url.pathname.replace(/\/$/, '')}/status`;
  return url;
}

async function fetchStatus(url: URL): Promise<AgentStatus> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : errorMessage(error);
    throw new AgentError(`cannot reach the agent at ${url.origin}: ${cause}; is \`run\` serving --http there?`);
  }
  const body = await response.text();
  if (response.status !== 200) {
    throw new AgentError(`${url.href} answered ${response.status}, not a status: is this an apollo-sidecar-agent of this version or newer?`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new AgentError(`${url.href} answered something that is not JSON`);
  }
  const parsed = statusSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AgentError(`${url.href} answered a JSON that is not an agent status (${issue?.path.join('.') || 'body'}: ${issue?.message})`);
  }
  return parsed.data;
}

/** One line per component and per source namespace, in aligned columns. */
export function formatStatus(status: AgentStatus, agent: string): string {
  const notInSync = status.components.filter((c) => c.state !== 'removed' && !c.inSync).length;
  const desired = status.components.filter((c) => c.state !== 'removed').length;
  const verdict = status.inSync
    ? `in sync (${desired} components)`
    : `NOT IN SYNC: ${[
        ...(status.sidecar.connected ? [] : ['sidecar disconnected']),
        ...(status.sourcesLoaded ? [] : ['sources not loaded yet']),
        ...(notInSync > 0 ? [`${notInSync} of ${desired} components not applied`] : []),
      ].join(', ')}`;
  const lines = [
    `agent ${text(status.version)} at ${agent}, ${text(status.time)}: ${verdict}`,
    `sidecar ${text(status.sidecar.address)} ${status.sidecar.connected ? 'connected' : 'DISCONNECTED'}`,
    '',
    ...table(
      ['COMPONENT', 'STATE', 'DESIRED', 'APPLIED', 'APPLIED AT', 'RELEASES', 'LAST ERROR'],
      status.components.map(componentRow),
      '(no components)',
    ),
    '',
    ...table(['SOURCE', 'NAMESPACE', 'RELEASE KEY', 'LAST SUCCESS', 'FROM', 'STATE'], status.sources.map(sourceRow), '(no sources)'),
  ];
  return lines.join('\n');
}

function componentRow(component: ComponentStatus): string[] {
  return [
    text(component.id),
    component.state,
    shortHash(component.desiredHash),
    shortHash(component.appliedHash),
    text(component.appliedAt ?? '-'),
    component.releases.map((r) => text(r.releaseKey === '' ? r.namespace : `${r.namespace}@${r.releaseKey}`)).join(',') || '-',
    component.error ? text(redactText(`${component.error.code}: ${component.error.message}`)) : '-',
  ];
}

function sourceRow(source: SourceStatus): string[] {
  return [
    text(source.sourceId),
    text(source.namespace),
    text(source.releaseKey ?? '-'),
    text(source.lastSuccessAt ?? 'never'),
    source.origin,
    source.failing ? `FAILING${source.error ? `: ${text(redactText(source.error))}` : ''}` : source.error ? `ok (${text(redactText(source.error))})` : 'ok',
  ];
}

/** Hashes are 32 hex digits; 12 tell versions apart on a screen. */
function shortHash(hash: string | undefined): string {
  return hash === undefined ? '-' : text(hash.slice(0, 12));
}

/** What the agent sent is shown on a terminal: one line, no control characters. */
function text(value: string): string {
  return printable(value, 512);
}

function table(header: readonly string[], rows: readonly (readonly string[])[], empty: string): string[] {
  if (rows.length === 0) return [empty];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
