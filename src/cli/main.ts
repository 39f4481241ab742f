import yargs from 'yargs';
import { AgentError, errorMessage } from '../domain/errors.js';
import { printable, redactText } from '../domain/masking.js';
import { AGENT_VERSION } from '../version.js';
import { processIo, write, type CliIo } from './command-context.js';
import { withGlobalOptions } from './global-options.js';

/**
 * Parses the command line, runs one command, and turns its result or error into an exit
 * code: the only place where the process's fate is decided. Each command module is imported
 * only when chosen, so `--help` or `convert` does not pay for loading gRPC and the Apollo client.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const set = (code: number): void => {
    exitCode = code;
  };
  const cli = withGlobalOptions(yargs([...argv]))
    .scriptName('apollo-sidecar-agent')
    // English whatever LANG says, like every other message of the agent; the bundle carries no yargs locale files.
    .locale('en')
    .usage('$0 <command> [options]\n\nPushes Apollo configuration to a Layotto sidecar through Lifecycle/ApplyConfiguration.')
    .command(
      'run',
      'run the agent: subscribe to Apollo/files, push changed components to the sidecar, serve /healthz /readyz /metrics',
      (y) =>
        y
          .example('$0 run --apollo-meta http://apollo-meta:8080 --app-id orders --namespace application --namespace redis.yaml', '')
          .example('$0 run --file /etc/agent/components --sidecar 127.0.0.1:34904', 'run from a mounted ConfigMap alone')
          .epilog('Exit codes: 0 after SIGTERM/SIGINT and a clean drain; 1 on a fatal config error. SIGHUP re-reads --config.'),
      async (args) => set(await (await import('./commands/run.js')).runCommand(args, io)),
    )
    .command(
      'diff',
      'dry run: fetch once, map, and show per component and key what would change against the ledger (what was last applied)',
      (y) =>
        y
          .option('output', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'text for people, json for machines' })
          .option('color', { type: 'boolean', describe: 'colour the text output (default: when stdout is a terminal)' })
          .example('$0 diff --apollo-config-service http://apollo:8080 --app-id orders', '')
          .example('$0 diff --output json --file ./components.yaml', '')
          .epilog(
            'Exit codes: 0 no difference, 2 differences, 1 error.\n' +
              'The comparison is against the ledger in --state-dir, not the sidecar: Layotto has no API to read a ' +
              "component's configuration back, so a diff against the running sidecar is not possible.",
          ),
      async (args) => set(await (await import('./commands/diff.js')).diffCommand(args, io)),
    )
    .command(
      'apply',
      'one shot: fetch, map, push every changed component (--all: every component), record the ledger, exit',
      (y) =>
        y
          .option('all', { type: 'boolean', describe: 'push every component, changed or not' })
          .option('dry-run', { type: 'boolean', describe: 'only show what would be pushed (same as diff)' })
          .option('timeout', { type: 'string', default: '30s', describe: 'how long to wait for the sidecar to accept everything' })
          .option('output', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'with --dry-run: output format' })
          .option('color', { type: 'boolean', describe: 'with --dry-run: colour the text output' })
          .example('$0 apply --file ./components.yaml --sidecar 127.0.0.1:34904', '')
          .example('$0 apply --all --apollo-config-service http://apollo:8080 --app-id orders', 'push everything, e.g. after a sidecar restart')
          .epilog('Exit codes: 0 all applied, 1 any failure (with --dry-run: as diff).'),
      async (args) => set(await (await import('./commands/apply.js')).applyCommand(args, io)),
    )
    .command(
      'render',
      'print the desired ComponentConfig set as JSON (secrets masked)',
      (y) =>
        y
          .option('show-secrets', { type: 'boolean', describe: 'print secret-looking values as they are' })
          .example('$0 render --file ./components.yaml', '')
          .epilog('Exit codes: 0 rendered, 1 error.'),
      async (args) => set(await (await import('./commands/render.js')).renderCommand(args, io)),
    )
    .command(
      'validate',
      'check the agent config and that the current source content maps cleanly; pushes nothing',
      (y) => y.example('$0 validate --config agent.yaml', '').epilog('Exit codes: 0 valid, 1 invalid (every problem listed).'),
      async (args) => set(await (await import('./commands/validate.js')).validateCommand(args, io)),
    )
    .command(
      'convert',
      "migration: turn a Layotto static config's components into Apollo namespace content",
      (y) =>
        y
          .option('from-layotto', { type: 'string', demandOption: true, describe: "Layotto's config.json" })
          .option('to', { choices: ['properties', 'json', 'yaml'] as const, default: 'properties' as const, describe: 'namespace format' })
          .example('$0 convert --from-layotto configs/config.json --to yaml > components.yaml', '')
          .epilog('Fields that ApplyConfiguration cannot carry are listed on stderr. Exit codes: 0 converted, 1 error.'),
      async (args) => set(await (await import('./commands/convert.js')).convertCommand({ fromLayotto: args.fromLayotto, to: args.to }, io)),
    )
    .command(
      'status',
      "what a running agent's sidecar runs: per component the desired and applied version, its releases and last error; per source what it last read",
      (y) =>
        y
          .option('agent', { type: 'string', describe: "the agent's HTTP address, as run's --http (default: run's default, 127.0.0.1:34980)" })
          .option('output', { choices: ['text', 'json'] as const, default: 'text' as const, describe: 'text for people, json for machines' })
          .example('$0 status', 'the agent of this pod, on its default address')
          .example('kubectl exec POD -c apollo-sidecar-agent -- node /opt/apollo-sidecar-agent/bin/apollo-sidecar-agent.js status', 'in a pod')
          .epilog('Exit codes: 0 in sync, 2 not in sync (a component not applied, the sidecar disconnected), 1 agent unreachable.'),
      async (args) => set(await (await import('./commands/status.js')).statusCommand({ agent: args.agent, output: args.output }, io)),
    )
    .demandCommand(1, 'name a command: run, diff, apply, render, validate, convert or status')
    .strict()
    .version(AGENT_VERSION)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((message, error) => {
      if (error) throw error;
      write(io.stderr, `${message}\nRun with --help for usage.`);
      set(1);
    });

  try {
    await cli.parseAsync();
  } catch (error) {
    if (error instanceof AgentError) write(io.stderr, `error: ${shownError(error.message)}`);
    else write(io.stderr, `internal error: ${shownError(error instanceof Error ? (error.stack ?? error.message) : errorMessage(error))}`);
    return 1;
  }
  return exitCode;
}

/**
 * An error for the terminal: its lines kept (a ConfigError lists one problem a line), each made
 * printable and bounded, secret forms masked (a problem may quote a value).
 */
function shownError(message: string): string {
  return message
    .split('\n')
    .map((line) => printable(redactText(line)))
    .join('\n');
}

/** The binary's entry point. */
export async function main(argv: readonly string[]): Promise<void> {
  const code = await runCli(argv);
  process.exitCode = code;
  // Everything closes its handles; this is the guard against one that did not, so a finished command never hangs.
  setTimeout(() => process.exit(code), 2_000).unref();
}
