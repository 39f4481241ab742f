import { loadDesired } from '../../app/one-shot.js';
import { ConfigError } from '../../domain/errors.js';
import { printable, redactText } from '../../domain/masking.js';
import { pushSizeProblem } from '../../push/push-size.js';
import { withOneShotContext, write, type CliIo } from '../command-context.js';

/** Checks the agent config and that the current content maps cleanly; pushes nothing, writes nothing. */
export async function validateCommand(args: Readonly<Record<string, unknown>>, io: CliIo): Promise<number> {
  try {
    return await withOneShotContext(args, io, { readOnly: true }, async (context) => {
      const loaded = await loadDesired(context);
      const { desired } = loaded;
      const tooLarge = [...desired.components.values()].map((component) => pushSizeProblem(component, context.config.maxPushBytes));
      const problems = [...loaded.problems, ...tooLarge.filter((problem) => problem !== undefined)];
      if (problems.length > 0) {
        write(io.stdout, `invalid: ${problems.length} problem(s)\n${listed(problems)}`);
        return 1;
      }
      // Its answer lists the mapping warnings, so they are not logged as well.
      const warnings = desired.warnings.map((w) => `  warning: ${printable(redactText(w))}`).join('\n');
      write(io.stdout, `valid: ${desired.components.size} component(s)${warnings ? `\n${warnings}` : ''}`);
      return 0;
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    write(io.stdout, `invalid: agent configuration\n${listed(error.problems)}`);
    return 1;
  }
}

/**
 * One line per problem, masked and printable: a problem may quote a torn value (a parser's
 * error quoting the config file's or a release's line) or a hostile key.
 */
function listed(problems: readonly string[]): string {
  return problems.map((problem) => `  - ${printable(redactText(problem))}`).join('\n');
}
