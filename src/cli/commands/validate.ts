import { loadDesired } from '../../app/one-shot.js';
import { ConfigError } from '../../domain/errors.js';
import { pushSizeProblem } from '../../push/push-size.js';
import { loadConfig, oneShotContext, write, type CliIo } from '../command-context.js';
import type { GlobalArgs } from '../global-options.js';

/** Checks the agent config and that the current content maps cleanly; pushes nothing. */
export async function validateCommand(args: GlobalArgs, io: CliIo): Promise<number> {
  let config;
  try {
    config = await loadConfig(args);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    write(io.stdout, `invalid: agent configuration\n${error.problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  const loaded = await loadDesired(oneShotContext(config, io));
  const { desired } = loaded;
  const tooLarge = [...desired.components.values()].map((component) => pushSizeProblem(component, config.maxPushBytes));
  const problems = [...loaded.problems, ...tooLarge.filter((problem) => problem !== undefined)];
  if (problems.length > 0) {
    write(io.stdout, `invalid: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  const warnings = desired.warnings.map((w) => `  warning: ${w}`).join('\n');
  write(io.stdout, `valid: ${desired.components.size} component(s)${warnings ? `\n${warnings}` : ''}`);
  return 0;
}
