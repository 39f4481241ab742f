import { createHmac } from 'node:crypto';

/**
 * Apollo's access-key signature (apollo-core `Signature`): the server recomputes it from the
 * raw request line, so `pathWithQuery` must be the path and query exactly as they go on the wire.
 */
export function apolloSignature(secret: string, timestamp: string, pathWithQuery: string): string {
  return createHmac('sha1', secret).update(`${timestamp}\n${pathWithQuery}`).digest('base64');
}

export interface SignatureHeaders {
  readonly Timestamp: string;
  readonly Authorization: string;
}

export function signatureHeaders(appId: string, secret: string, pathWithQuery: string, now: number = Date.now()): SignatureHeaders {
  const timestamp = String(now);
  return {
    Timestamp: timestamp,
    Authorization: `Apollo ${appId}:${apolloSignature(secret, timestamp, pathWithQuery)}`,
  };
}
