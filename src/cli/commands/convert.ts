import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { convertLayottoConfig } from '../../convert/layotto-config.js';
import { formatAsNamespace, type NamespaceTextFormat } from '../../convert/namespace-text.js';
import { ConfigError, errorMessage } from '../../domain/errors.js';
import { write, type CliIo } from '../command-context.js';
import { systemErrorLine } from '../error-lines.js';

export interface ConvertArgs {
  readonly fromLayotto: string;
  readonly to: NamespaceTextFormat;
}

/**
 * Migration: a Layotto static config in, the equivalent Apollo namespace content out (stdout).
 * What cannot be carried is listed on stderr, never dropped silently.
 */
export async function convertCommand(args: ConvertArgs & Readonly<Record<string, unknown>>, io: CliIo): Promise<number> {
  const path = args.fromLayotto;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(systemErrorLine(error, { path: 'give the path of Layotto\'s config.json with --from-layotto' }) ?? `cannot read ${path}: ${errorMessage(error)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${path} is neither JSON nor YAML: ${errorMessage(error).split('\n')[0]}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${path} is not a Layotto config: expected a JSON object with "servers", found ${Array.isArray(raw) ? 'a list' : raw === null ? 'nothing' : 'plain text'}`);
  }
  let converted;
  try {
    converted = convertLayottoConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${path} is not a Layotto config`, error.problems);
    throw error;
  }
  write(io.stdout, formatAsNamespace(converted.components, args.to));
  if (converted.unsupported.length > 0) {
    write(io.stderr, `not carried over (keep these in Layotto's static config):\n${converted.unsupported.map((u) => `  - ${u}`).join('\n')}`);
  }
  write(io.stderr, `converted ${converted.components.length} component(s)`);
  return 0;
}
