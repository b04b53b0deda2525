import { DateTime, IANAZone } from 'luxon';

/**
 * Deploy windows: `Mon-Thu 09:00-16:00 Europe/Berlin` — days, a local time range and an IANA
 * time zone. A window is open when the wall clock in its zone is on one of its days, at or after
 * its start and before its end. Calendar arithmetic (daylight saving, gaps and repeated hours)
 * is luxon's: the start of a window is the wall-clock time in its zone on that date, so a
 * window opens at 09:00 local time in summer and in winter alike.
 */

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

export interface DeployWindow {
  /** As written, for messages. */
  text: string;
  /** ISO weekdays (1 = Monday … 7 = Sunday). */
  days: ReadonlySet<number>;
  /** Minutes after local midnight: start inclusive, end exclusive (1440 = 24:00). */
  start: number;
  end: number;
  zone: string;
}

export type WindowParse = { ok: true; window: DeployWindow } | { ok: false; error: string };

const SHAPE = /^(\S+)\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s+(\S+)$/;

function dayNumber(name: string): number | undefined {
  const index = DAYS.findIndex((d) => d.toLowerCase() === name.toLowerCase());
  return index === -1 ? undefined : index + 1;
}

/** `Mon-Thu`, `Fri`, `Mon,Wed,Fri`, `Sat-Sun`, `Fri-Mon` (a range may wrap over the weekend). */
function parseDays(text: string): Set<number> | string {
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const [from, to, extra] = part.split('-');
    const a = dayNumber(from ?? '');
    const b = to === undefined ? a : dayNumber(to);
    if (a === undefined || b === undefined || extra !== undefined) return `"${part}" is not a day or a range of days (Mon, Tue, … Sun; e.g. Mon-Thu)`;
    for (let d = a; ; d = (d % 7) + 1) {
      days.add(d);
      if (d === b) break;
    }
  }
  return days;
}

/** One window, or why it is not one (said so a person can fix it). */
export function parseWindow(text: string): WindowParse {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  const m = SHAPE.exec(trimmed);
  if (!m) return { ok: false, error: `"${text}" is not a window: write days, a time range and a time zone, e.g. "Mon-Thu 09:00-16:00 Europe/Berlin"` };
  const [, dayText = '', sh = '', sm = '', eh = '', em = '', zone = ''] = m;
  const days = parseDays(dayText);
  if (typeof days === 'string') return { ok: false, error: days };
  const start = Number(sh) * 60 + Number(sm);
  const end = Number(eh) * 60 + Number(em);
  if (Number(sh) > 23 || Number(sm) > 59 || Number(em) > 59 || end > 24 * 60) {
    return { ok: false, error: `"${trimmed}": times are 00:00 to 24:00` };
  }
  if (end <= start) return { ok: false, error: `"${trimmed}": the window must end after it starts on the same day (split one across midnight in two)` };
  if (!IANAZone.isValidZone(zone) || (!zone.includes('/') && zone !== 'UTC')) {
    return { ok: false, error: `"${zone}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)` };
  }
  return { ok: true, window: { text: trimmed, days, start, end, zone } };
}

/** Every window of a list, or the first error with its index. */
export function parseWindows(texts: readonly string[]): { ok: true; windows: DeployWindow[] } | { ok: false; index: number; error: string } {
  const windows: DeployWindow[] = [];
  for (const [index, text] of texts.entries()) {
    const parsed = parseWindow(text);
    if (!parsed.ok) return { ok: false, index, error: parsed.error };
    windows.push(parsed.window);
  }
  return { ok: true, windows };
}

export function isWindowOpen(window: DeployWindow, at: Date): boolean {
  const local = DateTime.fromJSDate(at, { zone: window.zone });
  const minute = local.hour * 60 + local.minute;
  return window.days.has(local.weekday) && minute >= window.start && minute < window.end;
}

/** The window open at `at`, if any. */
export function openWindow(windows: readonly DeployWindow[], at: Date): DeployWindow | undefined {
  return windows.find((w) => isWindowOpen(w, at));
}

/**
 * When a window next opens after `at` (strictly later), by the wall clock of its zone. A start
 * in a daylight-saving gap opens at the jump (see openingOn); a start in a repeated hour opens
 * the first time the clocks read it.
 */
export function nextOpening(windows: readonly DeployWindow[], at: Date): { at: Date; window: DeployWindow } | undefined {
  let best: { at: Date; window: DeployWindow } | undefined;
  for (const window of windows) {
    const today = DateTime.fromJSDate(at, { zone: window.zone }).startOf('day');
    // Eight days: a window on one weekday, just closed, opens again on the same weekday a week later.
    for (let offset = 0; offset <= 8; offset++) {
      const day = today.plus({ days: offset });
      if (!window.days.has(day.weekday)) continue;
      const opens = openingOn(day, window);
      if (opens.getTime() <= at.getTime()) continue;
      if (!best || opens.getTime() < best.at.getTime()) best = { at: opens, window };
      break;
    }
  }
  return best;
}

/**
 * The first instant of `day` (a local midnight) at which the wall clock reads the window's start
 * or later. Usually the start itself, under the offset the zone has then; a start in the repeated
 * hour of a fall-back night opens the first time the clocks read it; a start in a spring-forward
 * gap (02:30 on the night clocks jump from 02:00 to 03:00) opens at the jump, when the clock reads
 * 03:00 — found by bisecting the minutes of the day.
 */
function openingOn(day: DateTime, window: DeployWindow): Date {
  const wallUtc = Date.UTC(day.year, day.month - 1, day.day, Math.floor(window.start / 60), window.start % 60);
  const wall = (ms: number): number => {
    const local = DateTime.fromMillis(ms, { zone: window.zone });
    return local.hasSame(day, 'day') ? local.hour * 60 + local.minute : local < day ? -1 : Infinity;
  };
  // The offsets the zone has that day (two on the days clocks change); each gives a candidate.
  const offsets = new Set([day.offset, day.endOf('day').offset]);
  const exact = [...offsets].map((offset) => wallUtc - offset * 60_000).filter((ms) => wall(ms) === window.start);
  if (exact.length > 0) return new Date(Math.min(...exact));
  let lo = day.toMillis();
  let hi = day.endOf('day').toMillis() + 1;
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
    if (wall(mid) >= window.start) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

/**
 * `Tue 09:00 CET`: the weekday and wall-clock time in the window's zone, with the zone's short
 * name where the platform knows one (en-US names American zones, en-GB European ones), else
 * its offset (`GMT+9`).
 */
export function formatInZone(at: Date, zone: string): string {
  const local = DateTime.fromJSDate(at, { zone });
  const short = (locale: string): string => local.setLocale(locale).toFormat('ZZZZ');
  let name = short('en-US');
  if (/^(GMT|UTC)[+-]/.test(name)) {
    const gb = short('en-GB');
    if (!/^(GMT|UTC)[+-]/.test(gb)) name = gb;
  }
  return `${local.setLocale('en-US').toFormat('ccc HH:mm')} ${name}`;
}

/**
 * An instant as a person writes it for a freeze: ISO date and time (`2026-12-20T00:00`,
 * seconds optional, or a date alone for its midnight) with an optional offset (`Z`, `+01:00`) or
 * IANA zone after a space (`2026-12-20T00:00 Europe/Berlin`). Without either it is UTC.
 */
export function parseInstant(text: string): { ok: true; at: Date } | { ok: false; error: string } {
  const m = /^(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?)(Z|[+-]\d{2}:\d{2})?(?: ([A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*))?$/.exec(text.trim());
  if (!m) return { ok: false, error: `"${text}" is not a time: write 2026-12-20T00:00, with an optional offset (Z, +01:00) or time zone (2026-12-20T00:00 Europe/Berlin)` };
  const [, local = '', offset, zone] = m;
  if (offset !== undefined && zone !== undefined) return { ok: false, error: `"${text}": give an offset or a time zone, not both` };
  if (zone !== undefined && (!IANAZone.isValidZone(zone) || (!zone.includes('/') && zone !== 'UTC'))) {
    return { ok: false, error: `"${zone}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)` };
  }
  const parsed = DateTime.fromISO(local, { zone: offset === undefined ? (zone ?? 'UTC') : offset === 'Z' ? 'UTC' : `UTC${offset}` });
  if (!parsed.isValid) return { ok: false, error: `"${text}" is not a valid date and time` };
  return { ok: true, at: parsed.toJSDate() };
}
