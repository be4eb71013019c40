import { describe, expect, it } from 'vitest';
import { nextFires, parseCron } from './cron';

const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());
const from = Date.UTC(2026, 0, 5, 10, 7, 12); // Monday 2026-01-05 10:07:12 UTC

describe('cron preview', () => {
  it('reads presets', () => {
    expect(iso(nextFires('hourly', 'UTC', from, 2))).toEqual(['2026-01-05T11:00:00.000Z', '2026-01-05T12:00:00.000Z']);
    expect(iso(nextFires('every-30s', 'UTC', from, 2))).toEqual(['2026-01-05T10:07:30.000Z', '2026-01-05T10:08:00.000Z']);
    expect(iso(nextFires('monthly', 'UTC', from, 1))).toEqual(['2026-02-01T00:00:00.000Z']);
    expect(iso(nextFires('weekly', 'UTC', from, 1))).toEqual(['2026-01-12T00:00:00.000Z']);
  });
  it('reads five fields with names, ranges and steps', () => {
    expect(iso(nextFires('0 9 * * Mon-Fri', 'UTC', Date.UTC(2026, 0, 9, 12), 2))).toEqual(['2026-01-12T09:00:00.000Z', '2026-01-13T09:00:00.000Z']);
    expect(iso(nextFires('*/15 * * * *', 'UTC', from, 3))).toEqual(['2026-01-05T10:15:00.000Z', '2026-01-05T10:30:00.000Z', '2026-01-05T10:45:00.000Z']);
  });
  it('fires in the time zone', () => {
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(iso(nextFires('0 9 * * *', 'Europe/Berlin', from, 1))).toEqual(['2026-01-06T08:00:00.000Z']);
    expect(iso(nextFires('0 9 * * *', 'Europe/Berlin', Date.UTC(2026, 6, 1, 12), 1))).toEqual(['2026-07-02T07:00:00.000Z']);
  });
  it('refuses what does not parse', () => {
    expect(() => parseCron('61 * * * *')).toThrow();
    expect(() => parseCron('every tuesday')).toThrow();
  });
});
