import { applyOnce } from '../../app/one-shot.js';
import { parseDuration } from '../../config/duration.js';
import { ConfigError } from '../../domain/errors.js';
import { printable, redactText } from '../../domain/masking.js';
import { loadConfig, oneShotContext, write, type CliIo } from '../command-context.js';
import type { GlobalArgs } from '../global-options.js';
import { diffCommand, type DiffArgs } from './diff.js';

export interface ApplyArgs extends DiffArgs {
  all?: boolean;
  dryRun?: boolean;
  timeout?: string;
}

/** One shot: push every changed component (`--all`: every one), record the ledger, exit 0 only if all applied. */
export async function applyCommand(args: ApplyArgs, io: CliIo): Promise<number> {
  if (args.dryRun) return diffCommand(args, io);
  const timeoutMs = parseDuration(args.timeout ?? '30s');
  if (timeoutMs === undefined || timeoutMs <= 0) throw new ConfigError(`--timeout ${JSON.stringify(args.timeout)} is not a positive duration`);
  const config = await loadConfig(args);
  const context = oneShotContext(config, io);
  const result = await applyOnce(context, { all: args.all === true, timeoutMs });
  // The sidecar's message may quote the component's config; ids come from the releases.
  const shown = (text: string): string => printable(redactText(text, context.knownSecrets));
  const lines: string[] = [];
  let failures = 0;
  for (const outcome of result.outcomes) {
    const ok = outcome.result === 'applied';
    if (!ok) failures += 1;
    const why = ok ? '' : ` (${outcome.code ?? outcome.result}${outcome.message ? `: ${shown(outcome.message)}` : ''})`;
    lines.push(`${ok ? 'applied' : outcome.result} ${shown(outcome.component.id)}${why}`);
  }
  for (const outcome of result.unfinished) {
    const last = outcome.code ? `; last error ${outcome.code}: ${shown(outcome.message ?? '')}` : '';
    lines.push(`timed out ${shown(outcome.component.id)} (the sidecar at ${config.sidecar} did not accept it within ${args.timeout ?? '30s'}${last})`);
  }
  for (const change of result.plan.changes) if (change.action === 'remove') lines.push(`removed ${shown(change.id)} (no keys left; Layotto cannot unload it, nothing pushed)`);
  const applied = result.outcomes.length - failures;
  lines.push(`${applied} applied, ${failures + result.unfinished.length} failed, ${result.plan.changes.length - result.plan.push.length} not pushed`);
  write(io.stdout, lines.join('\n'));
  return failures + result.unfinished.length > 0 ? 1 : 0;
}
