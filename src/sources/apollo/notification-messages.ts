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

/** apollo-java `ApolloNotificationMessages.mergeFrom`: the newest id per watched key wins. */
export function mergeMessages(previous: NotificationMessages | undefined, next: NotificationMessages): NotificationMessages {
  const details: Record<string, number> = { ...(previous?.details ?? {}) };
  for (const [key, id] of Object.entries(next.details)) {
    const known = details[key];
    if (known === undefined || id > known) details[key] = id;
  }
  return { details };
}
