/**
 * What a grpc-go server (Layotto's) refuses before its handler runs, with grpc-go's own codes
 * and messages (google.golang.org/grpc rpc_util.go recvMsg and server.go processUnaryRPC):
 * - a message over its receive limit, 4 MiB by default (`grpc.MaxRecvMsgSize`), which Layotto keeps;
 * - invalid UTF-8 in a proto3 `string` field, which protobuf-go refuses when unmarshalling.
 */

/** grpc-go's default `MaxRecvMsgSize`. */
export const GRPC_GO_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;

export interface TransportFault {
  readonly code: 'RESOURCE_EXHAUSTED' | 'INTERNAL';
  readonly message: string;
}

/** A decoded request together with what the transport saw of it. */
export interface TransportChecked<T> {
  readonly message: T;
  /** The gRPC message's length: the encoded request without its 5-byte frame header. */
  readonly bytes: number;
  readonly refused?: TransportFault;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(bytes: Uint8Array): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Reads a base-128 varint at `offset`; returns the value and the offset after it. */
function varint(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let at = offset; at < bytes.length; at += 1) {
    const byte = bytes[at]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at + 1];
    shift += 7;
  }
  throw new RangeError('truncated varint');
}

/**
 * Calls `onField` for each length-delimited field of one message, with its field number and
 * bytes; other wire types are skipped. Throws on a malformed message.
 */
function eachLengthDelimited(bytes: Uint8Array, onField: (field: number, value: Uint8Array) => void): void {
  let offset = 0;
  while (offset < bytes.length) {
    const [tag, afterTag] = varint(bytes, offset);
    const wireType = tag & 7;
    if (wireType === 0) offset = varint(bytes, afterTag)[1];
    else if (wireType === 1) offset = afterTag + 8;
    else if (wireType === 5) offset = afterTag + 4;
    else if (wireType === 2) {
      const [length, start] = varint(bytes, afterTag);
      onField(Math.floor(tag / 8), bytes.subarray(start, start + length));
      offset = start + length;
    } else throw new RangeError(`unexpected wire type ${wireType}`);
  }
}

/**
 * Whether every string of a DynamicConfiguration is valid UTF-8: `component_config` (1) holds
 * `kind` (1), `name` (2) and `metadata` (3) entries, each a `key` (1) and a `value` (2).
 */
function stringsValid(request: Uint8Array): boolean {
  let valid = true;
  const checkString = (value: Uint8Array): void => {
    if (valid && !validUtf8(value)) valid = false;
  };
  eachLengthDelimited(request, (field, config) => {
    if (field !== 1) return;
    eachLengthDelimited(config, (configField, value) => {
      if (configField === 1 || configField === 2) checkString(value);
      else if (configField === 3) eachLengthDelimited(value, (entryField, text) => (entryField <= 2 ? checkString(text) : undefined));
    });
  });
  return valid;
}

/** What grpc-go would answer for this encoded request before calling the handler; undefined: it passes. */
export function transportFault(request: Uint8Array, maxReceiveBytes = GRPC_GO_MAX_RECEIVE_BYTES): { refused?: TransportFault } {
  if (request.length > maxReceiveBytes) {
    return {
      refused: { code: 'RESOURCE_EXHAUSTED', message: `grpc: received message larger than max (${request.length} vs. ${maxReceiveBytes})` },
    };
  }
  if (!stringsValid(request)) {
    return { refused: { code: 'INTERNAL', message: 'grpc: error unmarshalling request: string field contains invalid UTF-8' } };
  }
  return {};
}
