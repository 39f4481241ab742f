import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { convertLayottoConfig } from '../../convert/layotto-config.js';
import { formatAsNamespace, type NamespaceTextFormat } from '../../convert/namespace-text.js';
import { ConfigError, errorMessage } from '../../domain/errors.js';
import { write, type CliIo } from '../command-context.js';

export interface ConvertArgs {
  fromLayotto: string;
  to?: NamespaceTextFormat;
}

/**
 * Migration: a Layotto static config in, the equivalent Apollo namespace content out (stdout).
 * What cannot be carried is listed on stderr, never dropped silently.
 */
export async function convertCommand(args: ConvertArgs, io: CliIo): Promise<number> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(args.fromLayotto, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read the Layotto config ${args.fromLayotto}: ${errorMessage(error)}`);
  }
  const { components, unsupported } = convertLayottoConfig(raw);
  write(io.stdout, formatAsNamespace(components, args.to ?? 'properties'));
  if (unsupported.length > 0) {
    write(io.stderr, `not carried over (keep these in Layotto's static config):\n${unsupported.map((u) => `  - ${u}`).join('\n')}`);
  }
  write(io.stderr, `converted ${components.length} component(s)`);
  return 0;
}
