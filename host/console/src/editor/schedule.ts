// Schedule presets the server understands, and the time zones to offer.
export const SCHEDULE_PRESETS = [
  { value: 'every-30s', label: 'Every 30 seconds' },
  { value: 'every-minute', label: 'Every minute' },
  { value: 'every-5-minutes', label: 'Every 5 minutes' },
  { value: 'every-15-minutes', label: 'Every 15 minutes' },
  { value: 'hourly', label: 'Hourly' },
  { value: 'daily', label: 'Daily (midnight)' },
  { value: 'weekly', label: 'Weekly (Mondays)' },
  { value: 'monthly', label: 'Monthly (the 1st)' },
] as const;

export const isPreset = (s: string) => SCHEDULE_PRESETS.some((p) => p.value === s);

export const CRON_EXAMPLES = [
  { value: '*/15 * * * *', label: 'every 15 minutes' },
  { value: '0 9 * * Mon-Fri', label: 'weekdays at 09:00' },
  { value: '30 6 1 * *', label: 'the 1st of the month at 06:30' },
];

let zones: string[] | null = null;

/** The browser's IANA time zones, UTC first (computed once: about 400 names). */
export function timeZones(): string[] {
  if (!zones) zones = listZones();
  return zones;
}

function listZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    return intl.supportedValuesOf ? ['UTC', ...intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')] : ['UTC'];
  } catch {
    return ['UTC'];
  }
}

/** The ready-to-paste API-call trigger. */
export function curlLine(origin: string, id: string, token: string | undefined): string {
  const t = token ?? '<execution token>';
  return `curl -X POST -H 'X-Execution-Token: ${t}' -H 'Content-Type: application/json' -d '{}' ${origin}/api/v1/automations/${encodeURIComponent(id)}/actions/execute`;
}
