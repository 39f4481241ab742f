import { networkInterfaces } from 'node:os';

/**
 * The address Apollo sees this client as (gray releases target it): the first non-internal
 * IPv4 address of the host, like apollo-java's `NetworkInterfaceManager`.
 */
export function localIpv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}
