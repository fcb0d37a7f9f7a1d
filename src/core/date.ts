// RFC 5322 §3.3 date-time in UTC: Date and Received headers, and the RFC 3464
// §2.2.5/§2.3.4/§2.3.7 date fields (Arrival-Date, Last-Attempt-Date, Will-Retry-Until).

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** e.g. "Thu, 26 Nov 2026 10:00:00 +0000". */
export function formatRfc5322DateMs(epochMs: number): string {
  const date = new Date(Number.isFinite(epochMs) ? epochMs : 0);
  const two = (value: number): string => String(value).padStart(2, '0');
  return `${DAY_NAMES[date.getUTCDay()] ?? 'Thu'}, ${date.getUTCDate()} ${MONTH_NAMES[date.getUTCMonth()] ?? 'Jan'} ` +
    `${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}
