import type { ComponentConfig } from '../domain/component.js';

/** The one thing the agent asks of the sidecar, behind an interface so the pusher stays testable. */
export interface SidecarClient {
  /**
   * One ApplyConfiguration call with its own deadline. Resolves on OK; rejects with a
   * SidecarCallError carrying the gRPC status otherwise (DEADLINE_EXCEEDED when it ran out).
   */
  apply(config: ComponentConfig, options: { deadlineMs: number }): Promise<void>;
  /**
   * Called on every (re)connection to the sidecar: the first one and each after a loss.
   * Returns a function that removes the listener.
   */
  onConnected(listener: () => void): () => void;
  isConnected(): boolean;
  close(): void;
}

/** A failed ApplyConfiguration, narrowed from grpc-js's ServiceError. */
export class SidecarCallError extends Error {
  override readonly name = 'SidecarCallError';
  constructor(
    /** Numeric gRPC status code. */
    readonly code: number,
    /** Its name, e.g. `UNAVAILABLE`. */
    readonly codeName: string,
    /** The sidecar's own message (Layotto: "component not found. kind: …, name: …"). */
    readonly details: string,
  ) {
    super(`${codeName}: ${details}`);
  }
}
