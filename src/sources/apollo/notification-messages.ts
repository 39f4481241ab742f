import { z } from 'zod';

/**
 * `messages` of a notification: per watched key (`appId+cluster+namespace`) the id of the
 * release message that caused it. Passed back on the next `/configs` call so the config
 * service can tell a stale cache from a fresh release.
 */
export const notificationMessagesSchema = z.object({
  details: z.record(z.string(), z.number()),
});

export type NotificationMessages = z.infer<typeof notificationMessagesSchema>;

/**
 * A namespace is watched under a handful of keys (its cluster, data center and `default`, and a
 * public namespace's own appId); more than this many is not Apollo talking, and every key
 * rides along in each `/configs` URL.
 */
export const MAX_MESSAGE_KEYS = 8;
/** No watched key is anywhere near this long; longer ones are dropped. */
const MAX_KEY_LENGTH = 256;

/**
 * apollo-java `ApolloNotificationMessages.mergeFrom` (the newest id per watched key wins),
 * keeping only the keys of `namespace` itself (`…+<namespace>`, case-insensitive), at most
 * MAX_MESSAGE_KEYS of them: one answer with thousands of details once made every later URL
 * too long for the server (431) for good.
 */
export function mergeMessages(previous: NotificationMessages | undefined, next: NotificationMessages, namespace: string): NotificationMessages {
  const suffix = `+${namespace.toLowerCase()}`;
  const details = new Map(Object.entries(previous?.details ?? {}));
  for (const [key, id] of Object.entries(next.details)) {
    if (key.length > MAX_KEY_LENGTH || !key.toLowerCase().endsWith(suffix)) continue;
    const known = details.get(key);
    if (known !== undefined && known >= id) continue;
    if (known === undefined && details.size >= MAX_MESSAGE_KEYS) continue;
    details.set(key, id);
  }
  return { details: Object.fromEntries(details) };
}
