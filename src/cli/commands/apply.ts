import { applyOnce } from '../../app/one-shot.js';
import { parseOptionValue } from '../../config/option-values.js';
import { OPTIONS } from '../../config/options.js';
import { AgentError } from '../../domain/errors.js';
import { printable, redactText } from '../../domain/masking.js';
import { withOneShotContext, write, type CliIo } from '../command-context.js';
import { UsageError } from '../error-lines.js';
import { diffCommand, type DiffArgs } from './diff.js';

export interface ApplyArgs extends DiffArgs {
  readonly all?: boolean;
  readonly dryRun?: boolean;
  readonly timeout?: string;
}

/** One shot: push every changed component (`--all`: every one), record the ledger, exit 0 only if all applied. */
export async function applyCommand(args: ApplyArgs & Readonly<Record<string, unknown>>, io: CliIo): Promise<number> {
  const timeout = String(args.timeout ?? OPTIONS.timeout.default);
  const parsed = parseOptionValue(OPTIONS.timeout.value, timeout);
  if ('problem' in parsed) throw new UsageError(`--timeout ${parsed.problem}`, 'apply');
  if (args.dryRun) return diffCommand(args, io);
  const timeoutMs = parsed.value as number;
  return withOneShotContext(args, io, { readOnly: false }, async (context) => {
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
    for (const push of result.unfinished) {
      const last = push.lastError ? `; last error ${shown(push.lastError)}` : '';
      lines.push(`timed out ${shown(push.id)} (the sidecar at ${context.config.sidecar} did not accept it within ${timeout}${last})`);
    }
    for (const change of result.plan.changes) if (change.action === 'remove') lines.push(`removed ${shown(change.id)} (no keys left; Layotto cannot unload it, nothing pushed)`);
    const applied = result.outcomes.length - failures;
    lines.push(`${applied} applied, ${failures + result.unfinished.length} failed, ${result.plan.changes.length - result.plan.push.length} not pushed`);
    write(io.stdout, lines.join('\n'));
    if (result.ledgerError !== undefined) {
      throw new AgentError(
        `could not record what was applied in ${result.ledgerError}; the sidecar has it, but the next diff or apply will not know: make the state dir writable by this user or choose another --state-dir`,
      );
    }
    return failures + result.unfinished.length > 0 ? 1 : 0;
  });
}
