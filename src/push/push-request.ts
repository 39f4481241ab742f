import type { DesiredComponent } from '../domain/component.js';

export interface PushRequest {
  readonly component: DesiredComponent;
  /** When the source noticed the release (ms since epoch): the start of release-to-apply latency. */
  readonly observedAt?: number;
}

/**
 * How one accepted submit ended; every accepted submit ends in exactly one outcome.
 * applied: the sidecar said OK. rejected: a non-retryable code, or too large to send.
 * failed: retries ran out (UNKNOWN and the like). Rejected and failed versions are not sent
 * again until they change or the sidecar reconnects. superseded: a newer submit for the same
 * component replaced it before it was applied. abandoned: the pusher was stopped.
 */
export type PushResult = 'applied' | 'rejected' | 'failed' | 'superseded' | 'abandoned';

export interface PushOutcome {
  readonly component: DesiredComponent;
  readonly result: PushResult;
  /** gRPC status name of the last failure, when there was one. */
  readonly code?: string;
  readonly message?: string;
  /** ApplyConfiguration calls made for this submit. */
  readonly attempts: number;
  readonly observedAt?: number;
  /** ms since epoch. */
  readonly finishedAt: number;
}

/**
 * Where a component stands: the newest submit's hash while it is pending or being pushed
 * (with the last failure while retrying), else how the last push ended.
 */
export interface ComponentPushState {
  readonly state: 'pending' | 'pushing' | 'applied' | 'rejected' | 'failed';
  readonly hash: string;
  readonly code?: string;
  readonly message?: string;
  readonly attempts: number;
  /** For a settled state: whether it was settled on the current sidecar connection. */
  readonly thisConnection?: boolean;
}
