/**
 * Typed errors. Only `cli/` turns them into exit codes and messages; everything below
 * throws or returns these so that the boundary can tell a user mistake from a bug.
 */
export class AgentError extends Error {
  override readonly name: string = 'AgentError';
}

/** The agent's own configuration is invalid: every problem, each with its path. */
export class ConfigError extends AgentError {
  override readonly name = 'ConfigError';
  constructor(
    /** What is invalid, without the problems: `invalid agent configuration`. */
    readonly summary: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length > 0 ? `${summary}\n  - ${problems.join('\n  - ')}` : summary);
  }
}

/** A source could not deliver content (Apollo unreachable, unreadable file). */
export class SourceError extends AgentError {
  override readonly name: string = 'SourceError';
  constructor(
    message: string,
    readonly sourceId: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A release whose content cannot be parsed or mapped: rejected whole. */
export class MappingError extends AgentError {
  override readonly name = 'MappingError';
  constructor(
    message: string,
    readonly namespace: string,
    readonly problems: readonly string[] = [],
  ) {
    super(problems.length > 0 ? `${message}: ${problems.join('; ')}` : message);
  }
}

/** One ApplyConfiguration that failed for good, with the gRPC status the sidecar gave. */
export class PushError extends AgentError {
  override readonly name = 'PushError';
  constructor(
    message: string,
    readonly componentId: string,
    readonly code: string,
    readonly details: string,
  ) {
    super(message);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
