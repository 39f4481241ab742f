import { loadDesiredStrict } from '../../app/one-shot.js';
import { withOneShotContext, write, type CliIo } from '../command-context.js';
import { formatComponentsJson } from '../plan-format.js';

export interface RenderArgs {
  readonly showSecrets?: boolean;
}

/** The desired ComponentConfig set as JSON, exactly what `run` would push. */
export async function renderCommand(args: RenderArgs & Readonly<Record<string, unknown>>, io: CliIo): Promise<number> {
  return withOneShotContext(args, io, { readOnly: true }, async (context) => {
    const desired = await loadDesiredStrict(context);
    write(io.stdout, formatComponentsJson(desired, { showSecrets: args.showSecrets === true }));
    return 0;
  });
}
