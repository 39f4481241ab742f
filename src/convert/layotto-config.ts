import { z } from 'zod';
import { componentId, type ComponentConfig } from '../domain/component.js';
import { ConfigError } from '../domain/errors.js';
import { ownRecord } from '../domain/own-record.js';

/**
 * Reads a Layotto static config (a MOSN config whose `grpc` filter carries Layotto's
 * `grpc_config`) and keeps what ApplyConfiguration can carry: the kind, the name and the string
 * metadata of each component. Everything else is named in `unsupported`, never dropped silently:
 *
 * - `type` selects the implementation when Layotto starts; ApplyConfiguration cannot change it,
 *   so it stays in the static config (it is not turned into a metadata key, which the component
 *   would then receive as configuration);
 * - other fields beside `metadata` (`hello`, `address`, ...), metadata that is not a map, and
 *   metadata values that are objects, arrays or null; numbers and booleans become strings, the
 *   only form metadata has on the wire;
 * - components without metadata (ApplyConfiguration requires at least one key), `app`,
 *   `extends` and sections that are not Layotto component kinds.
 *
 * Field names are matched case-insensitively (`Type`, `Metadata`), as Go's JSON decoder does.
 */

/** The sections of Layotto's MosnRuntimeConfig that hold `name → {type, metadata}` components. */
const COMPONENT_KINDS = new Set([
  'hellos',
  'config_store',
  'rpcs',
  'pub_subs',
  'state',
  'file',
  'oss',
  'lock',
  'sequencer',
  'secret_store',
  'bindings',
]);
const CUSTOM_COMPONENTS = 'custom_component';
const NOT_COMPONENTS: ReadonlyMap<string, string> = new Map([
  ['app', 'application settings, not a component'],
  ['extends', 'extension settings, not a component'],
]);

export interface ConvertedConfig {
  /** In id order. */
  readonly components: readonly ComponentConfig[];
  /** One line per thing that could not be carried, with its path and why. */
  readonly unsupported: readonly string[];
}

// Own keys only: a section or component named `__proto__` or `constructor` is listed like any other.
const objectSchema = ownRecord(z.unknown());
const layottoConfigSchema = z.looseObject({
  servers: z
    .array(
      z.looseObject({
        listeners: z
          .array(
            z.looseObject({
              filter_chains: z.array(z.looseObject({ filters: z.array(z.looseObject({ type: z.string().optional(), config: z.unknown() })).optional() })).optional(),
            }),
          )
          .optional(),
      }),
    )
    .min(1),
});
const grpcFilterConfigSchema = z.looseObject({ grpc_config: objectSchema });

interface GrpcConfig {
  readonly location: string;
  readonly sections: Readonly<Record<string, unknown>>;
}

function grpcConfigs(raw: unknown): GrpcConfig[] {
  const parsed = layottoConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      'not a Layotto config',
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const found: GrpcConfig[] = [];
  parsed.data.servers.forEach((server, s) =>
    server.listeners?.forEach((listener, l) =>
      listener.filter_chains?.forEach((chain, c) =>
        chain.filters?.forEach((filter, f) => {
          if (filter.type !== 'grpc') return;
          const config = grpcFilterConfigSchema.safeParse(filter.config);
          if (config.success) {
            found.push({ location: `servers[${s}].listeners[${l}].filter_chains[${c}].filters[${f}].config.grpc_config`, sections: config.data.grpc_config });
          }
        }),
      ),
    ),
  );
  if (found.length === 0) throw new ConfigError('not a Layotto config', ['no filter of type "grpc" with config.grpc_config']);
  return found;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Converter {
  readonly components = new Map<string, ComponentConfig>();
  readonly unsupported: string[] = [];

  component(kind: string, name: string, body: unknown, path: string): void {
    if (!isObject(body)) {
      this.unsupported.push(`${path}: not a component object`);
      return;
    }
    let metadata: Record<string, string> = {};
    for (const [field, value] of Object.entries(body)) {
      const lower = field.toLowerCase();
      if (lower === 'metadata') metadata = this.metadata(value, `${path}.${field}`);
      else if (lower === 'type') {
        this.unsupported.push(`${path}.${field} = ${JSON.stringify(value)}: the implementation is chosen when Layotto starts; keep it in Layotto's static config`);
      } else {
        this.unsupported.push(`${path}.${field}: only metadata can be applied at runtime`);
      }
    }
    const id = componentId(kind, name);
    if (kind.includes('/')) {
      this.unsupported.push(`${path}: a kind cannot contain "/" (the id ${id} would be ambiguous)`);
    } else if (Object.keys(metadata).length === 0) {
      this.unsupported.push(`${path}: no metadata, nothing to apply (ApplyConfiguration needs at least one key)`);
    } else if (this.components.has(id)) {
      this.unsupported.push(`${path}: ${id} is defined more than once; the first definition is kept`);
    } else {
      this.components.set(id, { kind, name, metadata });
    }
  }

  private metadata(value: unknown, path: string): Record<string, string> {
    if (value === null || value === undefined) return {};
    if (!isObject(value)) {
      this.unsupported.push(`${path}: not a map of strings`);
      return {};
    }
    const pairs: [string, string][] = [];
    for (const [key, inner] of Object.entries(value)) {
      if (typeof inner === 'string') pairs.push([key, inner]);
      else if (typeof inner === 'number' || typeof inner === 'boolean') pairs.push([key, String(inner)]);
      else this.unsupported.push(`${path}.${key}: ${inner === null ? 'null' : Array.isArray(inner) ? 'an array' : 'an object'}, metadata values are strings`);
    }
    // fromEntries defines each key, so a metadata key `__proto__` stays a key.
    return Object.fromEntries(pairs);
  }

  section(section: string, content: unknown, path: string): void {
    const notComponent = NOT_COMPONENTS.get(section);
    if (notComponent !== undefined) {
      this.unsupported.push(`${path}: ${notComponent}`);
    } else if (!isObject(content)) {
      this.unsupported.push(`${path}: not a map of components`);
    } else if (section === CUSTOM_COMPONENTS) {
      for (const [kind, byName] of Object.entries(content)) {
        if (!isObject(byName)) this.unsupported.push(`${path}.${kind}: not a map of components`);
        else for (const [name, body] of Object.entries(byName)) this.component(kind, name, body, `${path}.${kind}.${name}`);
      }
    } else if (COMPONENT_KINDS.has(section)) {
      for (const [name, body] of Object.entries(content)) this.component(section, name, body, `${path}.${name}`);
    } else {
      this.unsupported.push(`${path}: unknown section, not a Layotto component kind`);
    }
  }
}

export function convertLayottoConfig(raw: unknown): ConvertedConfig {
  const configs = grpcConfigs(raw);
  const converter = new Converter();
  for (const config of configs) {
    const base = configs.length > 1 ? config.location : 'grpc_config';
    for (const [section, content] of Object.entries(config.sections)) converter.section(section, content, `${base}.${section}`);
  }
  const components = [...converter.components.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, component]) => component);
  return { components, unsupported: converter.unsupported };
}
