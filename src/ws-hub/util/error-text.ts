/** Text of any thrown value, even one whose toString throws or that has no prototype. */
export function errorText(value: unknown): string {
  try {
    if (typeof value === 'string') return value;
    const message = (value as Error | undefined)?.message;
    return typeof message === 'string' ? message : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
