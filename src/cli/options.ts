import type { Argv, Options } from 'yargs';
import { AGENT_COMMANDS, flagName, optionEntries, type CommandName, type OptionRow } from '../config/options.js';
import type { Settings } from '../config/load-config.js';

const GROUPS = {
  source: 'Sources (flag > env > config file > default):',
  agent: 'Agent (flag > env > config file > default):',
  command: 'Options:',
} as const;

function acceptedBy(row: OptionRow, command: CommandName): boolean {
  if (row.scope === 'command') return row.shownBy.includes(command);
  return row.flag !== false && (AGENT_COMMANDS as readonly CommandName[]).includes(command);
}

const groupOf = (row: OptionRow): keyof typeof GROUPS => (row.scope === 'agent' ? row.group : 'command');

function yargsOption(row: OptionRow, shown: boolean): Options {
  const env = row.scope === 'agent' && row.env ? ` [env ${row.env}]` : '';
  const kind = row.value.kind;
  return {
    describe: `${row.describe}${env}`,
    type: kind === 'boolean' ? 'boolean' : 'string',
    ...(kind === 'list' ? { array: true } : {}),
    ...(kind === 'choice' && row.value.kind === 'choice' ? { choices: [...row.value.choices] } : {}),
    // A value-taking flag at the end of the line, or followed by another flag, is a mistake, not "".
    ...(kind === 'boolean' ? {} : { requiresArg: true }),
    // An agent option's default is the config loader's (env and file rank above it): yargs only
    // shows it. A command option has no other layer, so yargs applies it.
    ...(row.default === undefined ? {} : { defaultDescription: String(row.default) }),
    ...(row.scope === 'command' && row.default !== undefined ? { default: row.default } : {}),
    ...(row.alias ? { alias: row.alias } : {}),
    ...(row.scope === 'command' && row.required ? { demandOption: true } : {}),
    hidden: !shown,
    group: GROUPS[groupOf(row)],
  };
}

/**
 * The flags of one command, from the option table. A command accepts exactly these: anything
 * else is an unknown option (strict mode). The commands that read the agent config accept
 * every agent option, and their help shows the ones they use.
 */
export function withCommandOptions<T>(yargs: Argv<T>, command: CommandName): Argv<T> {
  let built = yargs;
  // yargs lists the groups in the order their first option is added.
  const order = Object.keys(GROUPS);
  const rows = optionEntries().sort(([, a], [, b]) => order.indexOf(groupOf(a)) - order.indexOf(groupOf(b)));
  for (const [key, row] of rows) {
    if (acceptedBy(row, command)) built = built.option(flagName(key), yargsOption(row, row.shownBy.includes(command)));
  }
  return built;
}

/** The agent options the user gave on the command line, in the config loader's vocabulary. */
export function flagSettings(args: Readonly<Record<string, unknown>>): Settings {
  const flags: Record<string, unknown> = {};
  for (const [key, row] of optionEntries()) if (row.scope === 'agent' && args[key] !== undefined) flags[key] = args[key];
  return flags as Settings;
}
