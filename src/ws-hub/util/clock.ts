/**
 * Monotonic milliseconds on the epoch scale: wall-clock steps (NTP corrections, a VM resumed)
 * neither expire sessions and history early nor keep them forever. What expires by age in
 * memory (sessions, history entries, streams) reads this clock.
 */
export const monotonicNowMs = (): number => performance.timeOrigin + performance.now();
