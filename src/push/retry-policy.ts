import pRetry, { AbortError } from 'p-retry';
import { SidecarCallError } from '../sidecar/sidecar-client.js';

/**
 * How a failed ApplyConfiguration is treated (CONTRACT.md section 6).
 * - `transient`: the sidecar could not take the call; retried until success, supersession or stop.
 * - `bounded`: the call reached the sidecar (or broke on the way) and failed for a reason that
 *   may pass; retried a few times, then the push ends `failed`.
 * - `rejected`: the sidecar refused these bytes; sending them again cannot help.
 * Either way a version that ended `failed` or `rejected` is not sent again until it changes or
 * the sidecar reconnects (the component queue keeps that).
 */
export type RetryClass = 'transient' | 'bounded' | 'rejected';

export interface RetryRule {
  readonly code: string;
  /** The rule applies only to failures whose details start with this (grpc-go's own messages). */
  readonly detailsStartWith?: string;
  readonly retry: RetryClass;
}

/** The one retry table: the first rule that matches a failure decides; a rule with a message comes before its code's. */
export const RETRY_TABLE: readonly RetryRule[] = Object.freeze([
  { code: 'UNAVAILABLE', retry: 'transient' },
  { code: 'DEADLINE_EXCEEDED', retry: 'transient' },
  { code: 'ABORTED', retry: 'transient' },
  // grpc-go's receive limit (4 MiB unless Layotto sets another): the same bytes are refused again.
  { code: 'RESOURCE_EXHAUSTED', detailsStartWith: 'grpc: received message larger than max', retry: 'rejected' },
  // protobuf-go refused the bytes (invalid UTF-8 in a string field): the same bytes are refused again.
  { code: 'INTERNAL', detailsStartWith: 'grpc: error unmarshalling request', retry: 'rejected' },
  // Layotto: the component's own ApplyConfig failed (its backend may be down for a moment).
  { code: 'UNKNOWN', retry: 'bounded' },
  { code: 'RESOURCE_EXHAUSTED', retry: 'bounded' },
  // A server crash, or a stream torn down mid-call (grpc-js reports a call caught by a restarting
  // sidecar as CANCELLED): not a verdict on the config.
  { code: 'INTERNAL', retry: 'bounded' },
  { code: 'DATA_LOSS', retry: 'bounded' },
  { code: 'CANCELLED', retry: 'bounded' },
  { code: 'INVALID_ARGUMENT', retry: 'rejected' },
  { code: 'NOT_FOUND', retry: 'rejected' },
  { code: 'UNIMPLEMENTED', retry: 'rejected' },
  { code: 'PERMISSION_DENIED', retry: 'rejected' },
  // A verdict on the request or the caller that the same request cannot change.
  { code: 'UNAUTHENTICATED', retry: 'rejected' },
  { code: 'FAILED_PRECONDITION', retry: 'rejected' },
  { code: 'OUT_OF_RANGE', retry: 'rejected' },
  { code: 'ALREADY_EXISTS', retry: 'rejected' },
]);

/** Codes not in the table (none exist in gRPC today) are treated like UNKNOWN. */
export function classifyFailure(failure: { readonly codeName: string; readonly details: string }): RetryClass {
  const rule = RETRY_TABLE.find(
    (r) => r.code === failure.codeName && (r.detailsStartWith === undefined || failure.details.startsWith(r.detailsStartWith)),
  );
  return rule?.retry ?? 'bounded';
}

export interface RetrySettings {
  /** Delay before the first retry; doubles (`factor`) per retry. */
  readonly minDelayMs: number;
  /** Cap on one delay: transient failures keep retrying at this pace. */
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Multiply each delay by a random 1–2 so that many components do not retry in lockstep. */
  readonly randomize: boolean;
  /** Tries in total for `bounded` codes (CONTRACT.md: UNKNOWN, INTERNAL, RESOURCE_EXHAUSTED at most 5). */
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
export function shouldRetry(retryClass: RetryClass, boundedFailures: number, settings: RetrySettings): boolean {
  switch (retryClass) {
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
      const retryClass = classifyFailure(failure);
      if (retryClass === 'bounded') boundedFailures += 1;
      const willRetry = !run.signal.aborted && shouldRetry(retryClass, boundedFailures, run.settings);
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
