import { AgentError, ConfigError, errorMessage } from '../domain/errors.js';

/** A mistake on the command line that yargs found: unknown option, invalid choice, missing value. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose help lists the options, when one was named. */
    readonly command: string | undefined,
  ) {
    super(message);
  }
}

/**
 * An operating-system error that a user's setting caused, with the setting that names the
 * place (`--state-dir`, `--http`) and what to do about it.
 */
export class SettingError extends AgentError {
  override readonly name = 'SettingError';
}

interface SystemError extends Error {
  readonly code: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly address?: string;
  readonly port?: number;
}

export function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && /^E[A-Z]+$/.test((error as SystemError).code);
}

const PATH_REASONS: Readonly<Record<string, string>> = {
  ENOTDIR: 'a part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a directory, a file was expected',
  ENOENT: 'it does not exist',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
};

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is in use by another process',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this host',
};

/** One line for an operating-system error, or undefined when it is not one the user can fix. */
export function systemErrorLine(error: unknown, advice: { path?: string; listen?: string } = {}): string | undefined {
  if (!isSystemError(error)) return undefined;
  if (error.syscall === 'listen' || LISTEN_REASONS[error.code] && error.address !== undefined) {
    const where = error.address === undefined ? 'the HTTP address' : `${error.address}:${error.port ?? ''}`;
    const reason = LISTEN_REASONS[error.code] ?? error.code;
    return `cannot listen on ${where}: ${reason}; ${advice.listen ?? 'choose another address'}`;
  }
  if (error.path !== undefined && PATH_REASONS[error.code]) {
    return `cannot use ${error.path}: ${PATH_REASONS[error.code]}; ${advice.path ?? 'check the path and its permissions'}`;
  }
  return undefined;
}

/**
 * What the user reads when a command fails: one line per problem, naming the thing and what
 * to do. A stack trace only for what is not a user's mistake, and only when asked for.
 */
export function errorLines(error: unknown, options: { debug: boolean; scriptName: string }): string[] {
  if (error instanceof UsageError) {
    const help = error.command ? `${options.scriptName} ${error.command} --help` : `${options.scriptName} --help`;
    const text = error.message
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .reduce((joined, line) => (joined === '' ? line : `${joined}${joined.endsWith(':') ? ' ' : '; '}${line}`), '');
    return [`error: ${text} (see ${help})`];
  }
  if (error instanceof ConfigError && error.problems.length > 0) return error.problems.map((problem) => `error: ${error.summary}: ${problem}`);
  const trace = options.debug && error instanceof Error && error.stack ? error.stack.split('\n') : [];
  if (error instanceof AgentError) return [`error: ${oneLine(error.message)}`, ...trace];
  const system = systemErrorLine(error);
  if (system) return [`error: ${system}`, ...trace];
  return [
    `internal error: ${oneLine(errorMessage(error))}${options.debug ? '' : ' (run with --log-level debug for the stack trace, and report it)'}`,
    ...trace,
  ];
}

function oneLine(text: string): string {
  // Starts only where a run of blanks starts: otherwise a long run with no line break in it
  // is scanned again from each of its blanks, quadratic time.
  return text.replace(/(?<!\s)\s*\n\s*-?\s*/g, '; ');
}
