import type { ComponentConfig, ComponentId } from '../domain/component.js';
import { requestBytesOver } from '../sidecar/request-size.js';

/**
 * Why a component cannot be pushed under `--max-push-bytes` (CONTRACT.md section 9), or
 * undefined if it can: the sidecar's grpc-go would refuse a larger request, so it is not sent.
 * One message for `run` (/readyz, the log) and `validate`.
 */
export function pushSizeProblem(component: ComponentConfig & { readonly id: ComponentId }, maxPushBytes: number): string | undefined {
  const bytes = requestBytesOver(component, maxPushBytes);
  if (bytes === undefined) return undefined;
  return `${component.id}: the encoded ApplyConfiguration request is ${bytes} bytes, over --max-push-bytes (${maxPushBytes}), so it is not sent`;
}
