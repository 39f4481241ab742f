import pRetry, { AbortError } from 'p-retry';
import { SidecarCallError } from '../sidecar/sidecar-client.js';

/**
 * How a failed ApplyConfiguration is treated (CONTRACT.md section 6).
 * - `transient`: the sidecar could not take the call; retried until success, supersession or stop.
 * - `bounded`: the call reached the sidecar (or broke on the way) and failed for a reason that
 *   may pass; retried a few times, then the push ends `failed` (a later submit may try again).
 * - `rejected`: the sidecar refused this configuration; retrying the same bytes cannot help,
 *   so the version is quarantined until a newer one or a sidecar restart.
 */
export type RetryClass = 'transient' | 'bounded' | 'rejected';

const CLASS_BY_CODE: Readonly<Record<string, RetryClass>> = {
  UNAVAILABLE: 'transient',
  DEADLINE_EXCEEDED: 'transient',
  RESOURCE_EXHAUSTED: 'transient',
  ABORTED: 'transient',
  // Layotto: the component's own ApplyConfig failed (its backend may be down for a moment).
  UNKNOWN: 'bounded',
  // A server crash, or a stream torn down mid-call (grpc-js reports a call caught by a restarting
  // sidecar as CANCELLED): not a verdict on the config.
  INTERNAL: 'bounded',
  DATA_LOSS: 'bounded',
  CANCELLED: 'bounded',
  INVALID_ARGUMENT: 'rejected',
  NOT_FOUND: 'rejected',
  UNIMPLEMENTED: 'rejected',
  PERMISSION_DENIED: 'rejected',
  // A verdict on the request or the caller that the same request cannot change.
  UNAUTHENTICATED: 'rejected',
  FAILED_PRECONDITION: 'rejected',
  OUT_OF_RANGE: 'rejected',
  ALREADY_EXISTS: 'rejected',
};

/** Codes not in the table (none exist in gRPC today) are treated like UNKNOWN. */
export function classifyCode(codeName: string): RetryClass {
  return CLASS_BY_CODE[codeName] ?? 'bounded';
}

export interface RetrySettings {
  /** Delay before the first retry; doubles (`factor`) per retry. */
  readonly minDelayMs: number;
  /** Cap on one delay: transient failures keep retrying at this pace. */
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Multiply each delay by a random 1–2 so that many components do not retry in lockstep. */
  readonly randomize: boolean;
  /** Tries in total for `bounded` codes (CONTRACT.md: UNKNOWN at most 5). */
  readonly boundedMaxAttempts: number;
}

export const DEFAULT_RETRY: RetrySettings = Object.freeze({
  minDelayMs: 200,
  maxDelayMs: 10_000,
  factor: 2,
  randomize: true,
  boundedMaxAttempts: 5,
});

/** Whether to try again after a failure, given how many `bounded` failures this push has had (this one included). */
export function shouldRetry(codeName: string, boundedFailures: number, settings: RetrySettings): boolean {
  switch (classifyCode(codeName)) {
    case 'transient':
      return true;
    case 'bounded':
      return boundedFailures < settings.boundedMaxAttempts;
    case 'rejected':
      return false;
  }
}

export interface FailedAttempt {
  readonly error: SidecarCallError;
  readonly willRetry: boolean;
}

export interface RetryRun {
  readonly settings: RetrySettings;
  /** Aborting it cancels a sleeping retry at once; a call in flight ends first. */
  readonly signal: AbortSignal;
  /** After every failed call, saying whether another try follows. */
  readonly onFailedAttempt: (failure: FailedAttempt) => void;
}

/** gRPC's numeric UNKNOWN, for errors that did not come from the sidecar at all (a client bug). */
const UNKNOWN_CODE = 2;

function narrow(error: unknown): SidecarCallError {
  if (error instanceof SidecarCallError) return error;
  return new SidecarCallError(UNKNOWN_CODE, 'UNKNOWN', error instanceof Error ? error.message : String(error));
}

/**
 * Runs `attempt` under the policy. Resolves on success; rejects with the last
 * SidecarCallError once the policy gives up, or with the signal's reason once aborted.
 */
export async function runWithRetry(attempt: () => Promise<void>, run: RetryRun): Promise<void> {
  let boundedFailures = 0;
  /** One call; a failure is thrown as p-retry should see it: the failure to retry, or an AbortError to stop. */
  const once = async (): Promise<void> => {
    run.signal.throwIfAborted();
    try {
      await attempt();
    } catch (error) {
      // The signal's own reason (an abort while waiting to call) passes through untouched.
      if (run.signal.aborted && !(error instanceof SidecarCallError)) throw error;
      const failure = narrow(error);
      const retryClass = classifyCode(failure.codeName);
      if (retryClass === 'bounded') boundedFailures += 1;
      const willRetry = !run.signal.aborted && shouldRetry(failure.codeName, boundedFailures, run.settings);
      run.onFailedAttempt({ error: failure, willRetry });
      throw willRetry ? failure : new AbortError(failure);
    }
  };
  let firstFailure: SidecarCallError | undefined;
  try {
    // Not through p-retry: most pushes succeed at once, and its set-up costs more than the call's own JavaScript.
    await once();
    return;
  } catch (error) {
    if (error instanceof AbortError) throw error.originalError;
    if (!(error instanceof SidecarCallError)) throw error;
    firstFailure = error;
  }
  await pRetry(
    () => {
      if (firstFailure === undefined) return once();
      // The first failure is p-retry's first attempt too, so its backoff starts where it would have.
      const failure = firstFailure;
      firstFailure = undefined;
      return Promise.reject(failure);
    },
    {
      retries: Number.POSITIVE_INFINITY,
      factor: run.settings.factor,
      minTimeout: run.settings.minDelayMs,
      maxTimeout: run.settings.maxDelayMs,
      randomize: run.settings.randomize,
      signal: run.signal,
      unref: true,
    },
  );
}
