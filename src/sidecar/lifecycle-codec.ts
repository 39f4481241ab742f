/**
 * The wire form of the one message the agent sends, `spec.proto.runtime.v1.DynamicConfiguration`
 * (proto/lifecycle.proto), written by hand: a general protobuf runtime costs the agent several MB
 * of resident memory for three string fields and a map. The bytes are the ones protobufjs
 * (through @grpc/proto-loader) writes for the same object, field for field and map entry for map
 * entry, which test/unit/lifecycle-codec.test.ts checks against protobufjs on random messages.
 *
 *   DynamicConfiguration { ComponentConfig component_config = 1; }
 *   ComponentConfig { string kind = 1; string name = 2; map<string, string> metadata = 3; }
 *
 * Strings are UTF-8 as `Buffer` writes them: a lone surrogate becomes U+FFFD. (protobufjs writes
 * a lone surrogate in a string shorter than 40 code units as invalid UTF-8, which Layotto's Go
 * protobuf refuses, and U+FFFD in a longer one.)
 */

/** `/spec.proto.runtime.v1.Lifecycle/ApplyConfiguration`: what Layotto serves (CONTRACT.md section 5). */
export const APPLY_CONFIGURATION_PATH = '/spec.proto.runtime.v1.Lifecycle/ApplyConfiguration';

export interface LifecycleComponent {
  readonly kind: string;
  readonly name: string;
  readonly metadata: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
}

/** Tag bytes, `field_number << 3 | wire_type` with wire type 2 (length-delimited) for every field. */
const TAG_1 = 0x0a;
const TAG_2 = 0x12;
const TAG_3 = 0x1a;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size += 1;
  }
  return size;
}

function writeVarint(buffer: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buffer[offset++] = value;
  return offset;
}

/** A canonical array index, which an object lists before its other keys, in numeric order. */
function isArrayIndex(key: string): boolean {
  if (key === '0') return true;
  if (key.length === 0 || key.length > 10 || key.charCodeAt(0) < 0x31 || key.charCodeAt(0) > 0x39) return false;
  for (let index = 1; index < key.length; index += 1) {
    const code = key.charCodeAt(index);
    if (code < 0x30 || code > 0x39) return false;
  }
  return Number(key) < 0xffff_ffff;
}

/**
 * The entries in the order protobufjs writes them: its own property order for an object; for a
 * map, the order the same entries would have as an object (array indexes first, ascending, then
 * the rest as inserted), so that both forms of one configuration give the same bytes.
 */
function entriesOf(metadata: LifecycleComponent['metadata']): { keys: string[]; values: string[] } {
  if (!(metadata instanceof Map)) {
    const record = metadata as Readonly<Record<string, string>>;
    const keys = Object.keys(record);
    return { keys, values: keys.map((key) => record[key]!) };
  }
  const indexes: string[] = [];
  const keys: string[] = [];
  for (const key of metadata.keys()) (isArrayIndex(key) ? indexes : keys).push(key);
  if (indexes.length > 0) {
    indexes.sort((a, b) => Number(a) - Number(b));
    keys.unshift(...indexes);
  }
  return { keys, values: keys.map((key) => metadata.get(key)!) };
}

/**
 * The bytes of `DynamicConfiguration { component_config: component }`; their `length` is the
 * request's size on the wire. A Buffer (so a Uint8Array), as grpc-js wants from a serializer.
 */
export function encodeDynamicConfiguration(component: LifecycleComponent): Buffer {
  const { keys, values } = entriesOf(component.metadata);
  const kindBytes = Buffer.byteLength(component.kind, 'utf8');
  const nameBytes = Buffer.byteLength(component.name, 'utf8');
  const entryBytes = new Array<number>(keys.length);
  const keyBytes = new Array<number>(keys.length);
  const valueBytes = new Array<number>(keys.length);
  let configBytes = 1 + varintSize(kindBytes) + kindBytes + 1 + varintSize(nameBytes) + nameBytes;
  for (let index = 0; index < keys.length; index += 1) {
    const keyLength = Buffer.byteLength(keys[index]!, 'utf8');
    const valueLength = Buffer.byteLength(values[index]!, 'utf8');
    const entry = 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueLength) + valueLength;
    keyBytes[index] = keyLength;
    valueBytes[index] = valueLength;
    entryBytes[index] = entry;
    configBytes += 1 + varintSize(entry) + entry;
  }

  const buffer = Buffer.allocUnsafe(1 + varintSize(configBytes) + configBytes);
  let offset = 0;
  const writeString = (tag: number, text: string, length: number): void => {
    buffer[offset++] = tag;
    offset = writeVarint(buffer, offset, length);
    offset += buffer.write(text, offset, length, 'utf8');
  };
  buffer[offset++] = TAG_1;
  offset = writeVarint(buffer, offset, configBytes);
  writeString(TAG_1, component.kind, kindBytes);
  writeString(TAG_2, component.name, nameBytes);
  for (let index = 0; index < keys.length; index += 1) {
    buffer[offset++] = TAG_3;
    offset = writeVarint(buffer, offset, entryBytes[index]!);
    writeString(TAG_1, keys[index]!, keyBytes[index]!);
    writeString(TAG_2, values[index]!, valueBytes[index]!);
  }
  return buffer;
}

/**
 * `ApplyConfigurationResponse` has no fields, so whatever a reader finds in it is an unknown field
 * to skip: an OK status is the whole answer.
 */
export function decodeApplyConfigurationResponse(_bytes: Uint8Array): Record<string, never> {
  return {};
}
