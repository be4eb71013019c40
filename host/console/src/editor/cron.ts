// The next fire times of a schedule, for the schedule builder's preview.
// Follows the server's reading (the `cron` crate): `sec min hour day
// month weekday [year]`, five fields get 0 seconds, weekdays 1-7 are
// Sunday to Saturday (names are clearer: Mon-Fri), and day and weekday
// must both match. The server stays the judge: this is a preview.

export const PRESET_CRON: Record<string, string> = {
  'every-30s': '*/30 * * * * *',
  'every-minute': '0 * * * * *',
  'every-5-minutes': '0 */5 * * * *',
  'every-15-minutes': '0 */15 * * * *',
  hourly: '0 0 * * * *',
  daily: '0 0 0 * * *',
  weekly: '0 0 0 * * Mon',
  monthly: '0 0 0 1 * *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function parseField(text: string, min: number, max: number, names?: string[], nameBase = 0): Set<number> {
  const out = new Set<number>();
  const value = (t: string): number => {
    const i = names ? names.indexOf(t.toLowerCase().slice(0, 3)) : -1;
    if (names && i >= 0 && /^[a-z]+$/i.test(t)) return i + nameBase;
    if (!/^\d+$/.test(t)) throw new Error(`"${t}" is not a number${names ? ' or a name' : ''}`);
    return Number(t);
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in "${part}"`);
    let lo = min;
    let hi = max;
    if (range !== '*' && range !== '?') {
      const [a, b] = range.split('-');
      lo = value(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : value(b);
    }
    if (lo < min || hi > max || lo > hi) throw new Error(`"${part}" is out of ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export interface CronSpec {
  sec: Set<number>;
  min: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  /** 1 = Sunday … 7 = Saturday. */
  dow: Set<number>;
  year: Set<number> | null;
}

export function parseCron(expr: string): CronSpec {
  const text = PRESET_CRON[expr.trim()] ?? expr.trim();
  let f = text.split(/\s+/);
  if (f.length === 5) f = ['0', ...f];
  if (f.length !== 6 && f.length !== 7) throw new Error('use "min hour day month weekday" (or with seconds first), or a preset');
  return {
    sec: parseField(f[0], 0, 59),
    min: parseField(f[1], 0, 59),
    hour: parseField(f[2], 0, 23),
    dom: parseField(f[3], 1, 31),
    month: parseField(f[4], 1, 12, MONTHS, 1),
    dow: parseField(f[5], 1, 7, DAYS, 1),
    year: f[6] ? parseField(f[6], 1970, 2199) : null,
  };
}

/** The zone's wall clock at an instant, as if it were UTC (ms). */
function wallMs(instant: number, fmt: Intl.DateTimeFormat): number {
  const p: Record<string, number> = {};
  for (const part of fmt.formatToParts(new Date(instant))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour === 24 ? 0 : p.hour, p.minute, p.second);
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
}

/** The next `count` fire instants (ms since the epoch) after `from`. */
export function nextFires(expr: string, timeZone: string | null | undefined, from: number, count = 5): number[] {
  const spec = parseCron(expr);
  const fmt = formatter(timeZone || 'UTC');
  const offset = (instant: number) => wallMs(instant, fmt) - instant;
  const toInstant = (wall: number) => {
    const guess = wall - offset(wall);
    return wall - offset(guess);
  };
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  const [hours, mins, secs] = [sorted(spec.hour), sorted(spec.min), sorted(spec.sec)];
  const out: number[] = [];
  const startWall = wallMs(from, fmt);
  const day0 = Date.UTC(new Date(startWall).getUTCFullYear(), new Date(startWall).getUTCMonth(), new Date(startWall).getUTCDate());
  for (let d = 0; d < 366 * 5 && out.length < count; d++) {
    const day = new Date(day0 + d * 86_400_000);
    if (spec.year && !spec.year.has(day.getUTCFullYear())) continue;
    if (!spec.month.has(day.getUTCMonth() + 1) || !spec.dom.has(day.getUTCDate()) || !spec.dow.has(day.getUTCDay() + 1)) continue;
    for (const h of hours) {
      for (const m of mins) {
        for (const s of secs) {
          const instant = toInstant(day.getTime() + ((h * 60 + m) * 60 + s) * 1000);
          if (instant > from && (out.length === 0 || instant > out[out.length - 1])) out.push(instant);
          if (out.length >= count) return out;
        }
      }
    }
  }
  return out;
}
