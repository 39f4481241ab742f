import { planFromLedger } from '../../app/one-shot.js';
import { planHasChanges } from '../../planner/plan-changes.js';
import { withOneShotContext, write, type CliIo } from '../command-context.js';
import { formatPlanText, planToJson } from '../plan-format.js';

export interface DiffArgs {
  readonly output?: 'text' | 'json';
  readonly color?: boolean;
}

/** Dry run: 0 no difference, 2 differences (like `terraform plan -detailed-exitcode`). */
export async function diffCommand(args: DiffArgs & Readonly<Record<string, unknown>>, io: CliIo): Promise<number> {
  return withOneShotContext(args, io, { readOnly: true }, async (context) => {
    const { plan } = await planFromLedger(context);
    if (args.output === 'json') write(io.stdout, planToJson(plan));
    else write(io.stdout, formatPlanText(plan, { color: args.color ?? io.stdout.isTTY === true }));
    return planHasChanges(plan) ? 2 : 0;
  });
}
