/**
 * Namespace content the figures publish. The agent and the reference client each get their
 * own namespace with the same shape and their own component names, so one fake sidecar tells
 * their pushes apart while both carry identical payloads.
 */

/** Who a namespace belongs to; also the component name prefix on the sidecar. */
export type Client = 'agent' | 'reference';

export const NAMESPACE: Readonly<Record<Client, string>> = { agent: 'application', reference: 'bench-reference' };

/** The component whose keys the latency and burst figures change. */
export function benchComponentId(client: Client): string {
  return `state/${client}`;
}

/** A small, realistic namespace: three Redis-backed components, seven keys. */
export function baseContent(client: Client): Record<string, string> {
  return {
    [`state.${client}.redisHost`]: '10.0.0.12:6379',
    [`state.${client}.redisPassword`]: 's3cret',
    [`state.${client}.disasterSwitch`]: 'off',
    [`state.${client}.seq`]: '0',
    [`lock.${client}.redisHost`]: '10.0.0.12:6379',
    [`lock.${client}.keyPrefix`]: 'lock',
    [`sequencer.${client}.redisHost`]: '10.0.0.12:6379',
  };
}

export const SCALE_COMPONENTS = 500;
export const SCALE_KEYS_PER_COMPONENT = 10;

export function scaleComponentId(client: Client, index: number): string {
  return `state/${client}-scale-${String(index).padStart(3, '0')}`;
}

/** SCALE_COMPONENTS × SCALE_KEYS_PER_COMPONENT keys; every value names the round, so each round changes every component. */
export function scaleContent(client: Client, round: number): Record<string, string> {
  const items: Record<string, string> = {};
  for (let c = 0; c < SCALE_COMPONENTS; c += 1) {
    const prefix = scaleComponentId(client, c).replace('/', '.');
    for (let k = 0; k < SCALE_KEYS_PER_COMPONENT; k += 1) items[`${prefix}.key${k}`] = `round-${round}-value-${k}`;
  }
  return items;
}
