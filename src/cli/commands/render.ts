import { loadDesiredStrict } from '../../app/one-shot.js';
import { loadConfig, oneShotContext, write, type CliIo } from '../command-context.js';
import type { GlobalArgs } from '../global-options.js';
import { formatComponentsJson } from '../plan-format.js';

export interface RenderArgs extends GlobalArgs {
  showSecrets?: boolean;
}

/** The desired ComponentConfig set as JSON, exactly what `run` would push. */
export async function renderCommand(args: RenderArgs, io: CliIo): Promise<number> {
  const config = await loadConfig(args);
  const desired = await loadDesiredStrict(oneShotContext(config, io));
  write(io.stdout, formatComponentsJson(desired, { showSecrets: args.showSecrets === true }));
  return 0;
}
