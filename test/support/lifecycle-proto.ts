/**
 * proto/lifecycle.proto loaded by @grpc/proto-loader (protobufjs): the independent reading of the
 * contract that the fake Layotto serves with and that the agent's own encoder is checked against.
 * Tests and the benchmark only; the agent encodes with src/sidecar/lifecycle-codec.ts.
 */
import { fileURLToPath } from 'node:url';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type AnyDefinition, type ServiceDefinition as LoadedServiceDefinition } from '@grpc/proto-loader';
import { APPLY_CONFIGURATION_PATH } from '../../src/sidecar/lifecycle-codec.js';

export const LIFECYCLE_PROTO_PATH = fileURLToPath(new URL('../../proto/lifecycle.proto', import.meta.url));

const SERVICE_NAME = 'spec.proto.runtime.v1.Lifecycle';

/** DynamicConfiguration as proto-loader (camelCase fields) presents it in both directions. */
export interface DynamicConfigurationMessage {
  componentConfig?: {
    kind?: string;
    name?: string;
    metadata?: Record<string, string>;
  } | null;
}

export type ApplyConfigurationResponseMessage = Record<string, never>;

export type ApplyConfigurationMethod = MethodDefinition<DynamicConfigurationMessage, ApplyConfigurationResponseMessage>;

export interface LifecycleService {
  readonly definition: ServiceDefinition;
  readonly applyConfiguration: ApplyConfigurationMethod;
}

function isServiceDefinition(definition: AnyDefinition | undefined): definition is LoadedServiceDefinition {
  // Message and enum definitions carry a `format`; services are a plain map of methods.
  return definition !== undefined && !('format' in definition);
}

let loaded: LifecycleService | undefined;

/** Loads the proto once per process. */
export function lifecycleService(): LifecycleService {
  if (loaded) return loaded;
  const packageDefinition = loadSync(LIFECYCLE_PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: true });
  const definition = packageDefinition[SERVICE_NAME];
  if (!isServiceDefinition(definition)) throw new Error(`${LIFECYCLE_PROTO_PATH} does not define ${SERVICE_NAME}`);
  const applyConfiguration = definition['ApplyConfiguration'];
  if (!applyConfiguration || applyConfiguration.path !== APPLY_CONFIGURATION_PATH) {
    throw new Error(`${LIFECYCLE_PROTO_PATH} does not define ${APPLY_CONFIGURATION_PATH}`);
  }
  loaded = { definition, applyConfiguration: applyConfiguration as ApplyConfigurationMethod };
  return loaded;
}
