import type { ComponentConfig } from '../domain/component.js';
import { encodeDynamicConfiguration } from './lifecycle-codec.js';

/** Most bytes one UTF-16 code unit takes in UTF-8 (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_PER_UNIT = 3;
/** Most bytes of framing around one string: a tag and a length varint (5 bytes covers 4 GiB). */
const MAX_STRING_FRAMING = 1 + 5;
/** Most bytes of framing of a message field (the component, a map entry): a tag and a length varint. */
const MAX_MESSAGE_FRAMING = 1 + 5;

/** The exact size of the encoded ApplyConfiguration request (the gRPC message grpc-go's receive limit counts). */
export function encodedRequestBytes(config: ComponentConfig): number {
  return encodeDynamicConfiguration(config).length;
}

/**
 * The encoded request's size when it exceeds `limitBytes`, else undefined. Most components are
 * far below any limit, which a bound on their size shows without encoding them.
 */
export function requestBytesOver(config: ComponentConfig, limitBytes: number): number | undefined {
  let bound = MAX_MESSAGE_FRAMING + 2 * MAX_STRING_FRAMING + MAX_UTF8_PER_UNIT * (config.kind.length + config.name.length);
  for (const key in config.metadata) {
    bound += MAX_MESSAGE_FRAMING + 2 * MAX_STRING_FRAMING + MAX_UTF8_PER_UNIT * (key.length + config.metadata[key]!.length);
    if (bound > limitBytes) break;
  }
  if (bound <= limitBytes) return undefined;
  const bytes = encodedRequestBytes(config);
  return bytes > limitBytes ? bytes : undefined;
}
