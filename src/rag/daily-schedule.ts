/**
 * The next `hour:minute` (local time) strictly after `now`: today's if it is still ahead,
 * otherwise tomorrow's. On a day whose clock skips that time (daylight saving), the Date
 * arithmetic lands on the first valid time after it.
 *
 * @example
 *   nextRunAt(new Date(2025, 0, 31, 4, 0), 3, 0) // → 2025-02-01 03:00 local
 */
export function nextRunAt(now: Date, hour: number, minute: number): Date {
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new RangeError(`hour must be 0-23, got ${hour}`);
  if (!Number.isInteger(minute) || minute < 0 || minute > 59)
    throw new RangeError(`minute must be 0-59, got ${minute}`);
  const next = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hour, minute, 0, 0);
  if (next.getTime() > now.getTime()) return next;
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, hour, minute, 0, 0);
}
