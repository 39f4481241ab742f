const SECRET_KEY = /password|passwd|secret|token|credential|access[-_.]?key|api[-_.]?key|private[-_.]?key/i;

export const MASK = '***';

/** Whether a metadata key looks like it holds a secret (CONTRACT.md section 8). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

export function maskValue(key: string, value: string): string {
  return isSecretKey(key) ? MASK : value;
}

export function maskMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const masked: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) masked[key] = maskValue(key, value);
  return masked;
}
