import yargs, { type Argv } from 'yargs';
import { OPTIONS, type CommandName, type OptionRow } from '../config/options.js';
import { processIo, write, type CliIo } from './command-context.js';
import { printable, redactText } from '../domain/masking.js';
import { errorLines, UsageError } from './error-lines.js';
import type { ConvertArgs } from './commands/convert.js';
import type { StatusArgs } from './commands/status.js';
import { withCommandOptions } from './options.js';
import { AGENT_VERSION } from '../version.js';

const SCRIPT = 'apollo-sidecar-agent';

export type CommandArgs = Readonly<Record<string, unknown>>;

/** One command: its help, and the module that runs it (imported only when chosen). */
export interface CommandSpec {
  readonly name: Exclude<CommandName, 'completion'>;
  readonly describe: string;
  readonly examples: readonly (readonly [command: string, description: string])[];
  readonly epilog: string;
  readonly run: (args: CommandArgs, io: CliIo) => Promise<number>;
}

/**
 * The commands, in the order `--help` lists them. Each module is imported only when chosen,
 * so `--help` or `convert` does not pay for loading gRPC and the Apollo client.
 */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run',
    describe: 'run the agent: subscribe to Apollo/files, push changed components to the sidecar, serve /healthz /readyz /metrics',
    examples: [
      ['$0 run --apollo-meta http://apollo-meta:8080 --app-id orders --namespace application --namespace redis.yaml', ''],
      ['$0 run --file /etc/agent/components --sidecar 127.0.0.1:34904', 'run from a mounted ConfigMap alone'],
    ],
    epilog: 'Exit codes: 0 after SIGTERM/SIGINT and a clean drain; 1 on a configuration or startup error. SIGHUP re-reads --config.',
    run: async (args, io) => (await import('./commands/run.js')).runCommand(args, io),
  },
  {
    name: 'diff',
    describe: 'dry run: fetch once, map, and show per component and key what would change against the ledger (what was last applied)',
    examples: [
      ['$0 diff --apollo-config-service http://apollo:8080 --app-id orders', ''],
      ['$0 diff --output json --file ./components.yaml', ''],
    ],
    epilog:
      'Exit codes: 0 no difference, 2 differences, 1 error. Changes nothing on disk.\n' +
      'The comparison is against the ledger in --state-dir, not the sidecar: Layotto has no API to read a ' +
      "component's configuration back, so a diff against the running sidecar is not possible.",
    run: async (args, io) => (await import('./commands/diff.js')).diffCommand(args, io),
  },
  {
    name: 'apply',
    describe: 'one shot: fetch, map, push every changed component (--all: every component), record the ledger, exit',
    examples: [
      ['$0 apply --file ./components.yaml --sidecar 127.0.0.1:34904', ''],
      ['$0 apply --all --apollo-config-service http://apollo:8080 --app-id orders', 'push everything, e.g. after a sidecar restart'],
      ['$0 apply --dry-run --file ./components.yaml', 'what would be pushed; changes nothing'],
    ],
    epilog:
      'Exit codes: 0 all applied and recorded; 1 any failure, a refused connection, or a ledger that could not be written ' +
      '(with --dry-run: as diff).',
    run: async (args, io) => (await import('./commands/apply.js')).applyCommand(args, io),
  },
  {
    name: 'render',
    describe: 'print the desired ComponentConfig set as JSON (secrets masked)',
    examples: [
      ['$0 render --file ./components.yaml', ''],
      ['$0 render --app-id orders --apollo-meta http://apollo-meta:8080 --show-secrets', 'what the sidecar would receive, unmasked'],
    ],
    epilog: 'Exit codes: 0 rendered, 1 error. Changes nothing on disk.',
    run: async (args, io) => (await import('./commands/render.js')).renderCommand(args, io),
  },
  {
    name: 'validate',
    describe: 'check the agent config and that the current source content maps cleanly; pushes nothing',
    examples: [
      ['$0 validate --config agent.yaml', ''],
      ['AGENT_CONFIG=agent.yaml $0 validate --file ./components.yaml', 'the config from the environment, plus a file source'],
    ],
    epilog: 'Exit codes: 0 valid, 1 invalid (every problem listed). Changes nothing on disk.',
    run: async (args, io) => (await import('./commands/validate.js')).validateCommand(args, io),
  },
  {
    name: 'convert',
    describe: "migration: turn a Layotto static config's components into Apollo namespace content",
    examples: [
      ['$0 convert --from-layotto configs/config.json --to yaml > components.yaml', ''],
      ['$0 convert --from-layotto configs/config.json', 'as properties, for an Apollo properties namespace'],
    ],
    epilog: 'Fields that ApplyConfiguration cannot carry are listed on stderr. Exit codes: 0 converted, 1 error.',
    // yargs demands --from-layotto and defaults --to, so both are there.
    run: async (args, io) => (await import('./commands/convert.js')).convertCommand(args as ConvertArgs & CommandArgs, io),
  },
  {
    name: 'status',
    describe: "what a running agent's sidecar runs: per component the desired and applied version, its releases and last error; per source what it last read",
    examples: [
      ['$0 status', 'the agent of this pod, on its default address'],
      ['kubectl exec POD -c apollo-sidecar-agent -- node /opt/apollo-sidecar-agent/bin/apollo-sidecar-agent.js status', 'in a pod'],
    ],
    epilog: 'Exit codes: 0 in sync, 2 not in sync (a component not applied, the sidecar disconnected), 1 agent unreachable.',
    // yargs defaults --agent and --output from the option table.
    run: async (args, io) => (await import('./commands/status.js')).statusCommand(args as StatusArgs & CommandArgs, io),
  },
];

function commandNamed(argv: readonly string[]): string | undefined {
  return argv.find((arg) => COMMANDS.some((command) => command.name === arg));
}

/**
 * yargs' arguments keyed like the option table (camelCase). A single-valued flag given twice
 * takes the last value, as in most CLIs (yargs makes a list of it).
 */
function commandArgs(args: Readonly<Record<string, unknown>>): CommandArgs {
  const parsed: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(args)) {
    const key = flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
    const row = Object.hasOwn(OPTIONS, key) ? (OPTIONS as Readonly<Record<string, OptionRow>>)[key] : undefined;
    parsed[key] = Array.isArray(value) && row && row.value.kind !== 'list' ? value.at(-1) : value;
  }
  return parsed;
}

interface CliRun {
  /** Whether errors come with their stack: `--log-level debug` or LOG_LEVEL=debug. */
  debug: boolean;
  exitCode: number;
  /** yargs' "Did you mean ...?" for a mistyped command, shown with the error that follows it. */
  suggestion?: string;
}

function buildCli(argv: readonly string[], io: CliIo, run: CliRun): Argv {
  let cli = yargs([...argv])
    .scriptName(SCRIPT)
    // English whatever LANG says, like every other message of the agent; the bundle carries no yargs locale files.
    .locale('en')
    .usage('$0 <command> [options]\n\nPushes Apollo configuration to a Layotto sidecar through Lifecycle/ApplyConfiguration.')
    .updateStrings({
      'Unknown argument: %s': { one: 'unknown option or argument: %s', other: 'unknown options or arguments: %s' },
      'Missing required argument: %s': { one: 'missing required option: --%s', other: 'missing required options: %s' },
      'Invalid values:': 'invalid value:',
      'Argument: %s, Given: %s, Choices: %s': '--%s %s is not one of %s',
      'Not enough arguments following: %s': '--%s needs a value',
    } as unknown as Record<string, string>)
    // Keys stay as typed: with the camelCase copies, `--bogus-flag` would be reported twice.
    .parserConfiguration({ 'camel-case-expansion': false });
  for (const spec of COMMANDS) {
    cli = cli.command(
      spec.name,
      spec.describe,
      (y) => {
        let built = withCommandOptions(y, spec.name);
        for (const [command, description] of spec.examples) built = built.example(command, description);
        return built.epilog(spec.epilog);
      },
      async (args) => {
        const parsed = commandArgs(args);
        run.debug ||= parsed.logLevel === 'debug';
        run.exitCode = await spec.run(parsed, io);
      },
    );
  }
  return cli
    .completion('completion', 'print a bash/zsh completion script: apollo-sidecar-agent completion >> ~/.bashrc')
    .demandCommand(1, `name a command: ${COMMANDS.map((command) => command.name).join(', ')} or completion`)
    .recommendCommands()
    .strict()
    .version(AGENT_VERSION)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((message: string | undefined, error: Error | undefined) => {
      // A mistyped command: yargs reports the suggestion first, then the unknown argument.
      if (!error && message?.startsWith('Did you mean')) {
        run.suggestion = message;
        return;
      }
      // Throwing is what stops yargs: a fail handler that returns lets the command run anyway.
      if (error && error.name !== 'YError') throw error;
      const text = [error?.message ?? message ?? 'invalid command line', ...(run.suggestion ? [run.suggestion] : [])].join('\n');
      throw new UsageError(text, commandNamed(argv));
    });
}

/**
 * Parses the command line, runs one command, and turns its result or error into an exit
 * code: the only place where the process's fate is decided.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const run: CliRun = { debug: process.env[OPTIONS.logLevel.env] === 'debug', exitCode: 0 };
  try {
    await buildCli(argv, io, run).parseAsync();
  } catch (error) {
    // Each line made printable and bounded, secret forms masked: a problem may quote a value.
    for (const line of errorLines(error, { debug: run.debug, scriptName: SCRIPT })) write(io.stderr, printable(redactText(line)));
    return 1;
  }
  return run.exitCode;
}

/** The binary's entry point. */
export async function main(argv: readonly string[]): Promise<void> {
  const code = await runCli(argv);
  process.exitCode = code;
  // Everything closes its handles; this is the guard against one that did not, so a finished command never hangs.
  setTimeout(() => process.exit(code), 2_000).unref();
}
