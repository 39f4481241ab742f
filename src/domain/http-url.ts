/** Whether `text` is an absolute http(s) URL: what Apollo's meta and config-service addresses must be. */
export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
