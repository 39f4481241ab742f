import { planFromLedger } from '../../app/one-shot.js';
import { planHasChanges } from '../../planner/plan-changes.js';
import { loadConfig, oneShotContext, write, type CliIo } from '../command-context.js';
import type { GlobalArgs } from '../global-options.js';
import { formatPlanText, planToJson } from '../plan-format.js';

export interface DiffArgs extends GlobalArgs {
  output?: 'text' | 'json';
  color?: boolean;
}

/** Dry run: 0 no difference, 2 differences (like `terraform plan -detailed-exitcode`). */
export async function diffCommand(args: DiffArgs, io: CliIo): Promise<number> {
  const config = await loadConfig(args);
  const { plan } = await planFromLedger(oneShotContext(config, io));
  if (args.output === 'json') write(io.stdout, planToJson(plan));
  else write(io.stdout, formatPlanText(plan, { color: args.color ?? io.stdout.isTTY === true }));
  return planHasChanges(plan) ? 2 : 0;
}
