import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatInZone, nextOpening, openWindow, parseInstant, parseWindow, parseWindows } from './deploy-windows.ts';

const parses: { text: string; days?: number[]; start?: number; end?: number; zone?: string; error?: RegExp }[] = [
  { text: 'Mon-Thu 09:00-16:00 Europe/Berlin', days: [1, 2, 3, 4], start: 540, end: 960, zone: 'Europe/Berlin' },
  { text: 'Fri 09:00-12:00 Europe/Berlin', days: [5], start: 540, end: 720 },
  { text: 'mon,wed,FRI 00:00-24:00 UTC', days: [1, 3, 5], start: 0, end: 1440, zone: 'UTC' },
  { text: 'Fri-Mon 10:00-11:30 America/New_York', days: [1, 5, 6, 7], start: 600, end: 690 },
  { text: '  Sat   08:00-09:00   Asia/Tokyo ', days: [6] },
  { text: 'Mon-Thu 9:00-16:00 Europe/Berlin', error: /is not a window/ },
  { text: 'Mon-Thu 09:00-16:00', error: /is not a window/ },
  { text: 'Weekdays 09:00-16:00 Europe/Berlin', error: /not a day/ },
  { text: 'Mon-Thu-Fri 09:00-16:00 Europe/Berlin', error: /not a day/ },
  { text: 'Mon, 09:00-16:00 Europe/Berlin', error: /not a day/ },
  { text: 'Mon 16:00-09:00 Europe/Berlin', error: /must end after it starts/ },
  { text: 'Mon 09:00-09:00 Europe/Berlin', error: /must end after it starts/ },
  { text: 'Mon 24:00-24:30 Europe/Berlin', error: /00:00 to 24:00/ },
  { text: 'Mon 09:60-10:00 Europe/Berlin', error: /00:00 to 24:00/ },
  { text: 'Mon 09:00-16:00 Europe/Atlantis', error: /not an IANA time zone/ },
  { text: 'Mon 09:00-16:00 CET', error: /not an IANA time zone/ },
  { text: 'Mon 09:00-16:00 +01:00', error: /not an IANA time zone/ },
  { text: '', error: /is not a window/ },
];

for (const row of parses) {
  test(`parseWindow: "${row.text}" ${row.error ? 'is refused' : 'parses'}`, () => {
    const parsed = parseWindow(row.text);
    if (row.error) {
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, row.error);
      return;
    }
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    if (row.days) assert.deepEqual([...parsed.window.days].sort(), row.days);
    if (row.start !== undefined) assert.equal(parsed.window.start, row.start);
    if (row.end !== undefined) assert.equal(parsed.window.end, row.end);
    if (row.zone) assert.equal(parsed.window.zone, row.zone);
  });
}

test('parseWindows names the first bad entry', () => {
  const parsed = parseWindows(['Mon 09:00-10:00 UTC', 'Tue 10:00-09:00 UTC']);
  assert.equal(parsed.ok, false);
  if (!parsed.ok) assert.equal(parsed.index, 1);
});

function windows(...texts: string[]) {
  const parsed = parseWindows(texts);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.windows;
}

const berlin = windows('Mon-Thu 09:00-16:00 Europe/Berlin', 'Fri 09:00-12:00 Europe/Berlin');
const newYork = windows('Mon-Fri 09:00-17:00 America/New_York');

/** `open` when a window is open at `at`, else the next opening and how it reads. */
const schedule: { name: string; of: typeof berlin; at: string; open?: boolean; next?: string; reads?: string }[] = [
  { name: 'Berlin winter, inside', of: berlin, at: '2026-12-01T10:00:00Z', open: true },
  { name: 'Berlin winter, before the day opens', of: berlin, at: '2026-12-01T07:59:59Z', next: '2026-12-01T08:00:00.000Z', reads: 'Tue 09:00 CET' },
  { name: 'Berlin winter, opening minute is inside', of: berlin, at: '2026-12-01T08:00:00Z', open: true },
  { name: 'Berlin winter, closing minute is outside', of: berlin, at: '2026-12-01T15:00:00Z', next: '2026-12-02T08:00:00.000Z', reads: 'Wed 09:00 CET' },
  { name: 'Berlin Friday afternoon waits for Monday', of: berlin, at: '2026-12-04T11:00:00Z', next: '2026-12-07T08:00:00.000Z', reads: 'Mon 09:00 CET' },
  { name: 'Berlin Thursday evening waits for the Friday window', of: berlin, at: '2026-12-03T17:00:00Z', next: '2026-12-04T08:00:00.000Z', reads: 'Fri 09:00 CET' },
  // Clocks go forward on Sunday 2026-03-29: Monday 09:00 is 07:00 UTC, not 08:00.
  { name: 'Berlin spring forward: Friday to Monday across the change', of: berlin, at: '2026-03-27T12:00:00Z', next: '2026-03-30T07:00:00.000Z', reads: 'Mon 09:00 CEST' },
  { name: 'Berlin spring forward: Monday 09:00 CEST is open at 07:00 UTC', of: berlin, at: '2026-03-30T07:00:00Z', open: true },
  { name: 'Berlin spring forward: Monday 08:30 CEST is closed', of: berlin, at: '2026-03-30T06:30:00Z', next: '2026-03-30T07:00:00.000Z' },
  // Clocks go back on Sunday 2026-10-25: Monday 09:00 is 08:00 UTC again.
  { name: 'Berlin fall back: Friday to Monday across the change', of: berlin, at: '2026-10-23T11:00:00Z', next: '2026-10-26T08:00:00.000Z', reads: 'Mon 09:00 CET' },
  { name: 'Berlin fall back: Thursday 15:30 CEST is open', of: berlin, at: '2026-10-22T13:30:00Z', open: true },
  // New York springs forward on 2026-03-08 and falls back on 2026-11-01.
  { name: 'New York spring forward', of: newYork, at: '2026-03-06T22:30:00Z', next: '2026-03-09T13:00:00.000Z', reads: 'Mon 09:00 EDT' },
  { name: 'New York fall back', of: newYork, at: '2026-10-30T21:30:00Z', next: '2026-11-02T14:00:00.000Z', reads: 'Mon 09:00 EST' },
  { name: 'New York: 16:59 EST is open, 17:00 is not', of: newYork, at: '2026-11-02T21:59:00Z', open: true },
  {
    name: 'a start inside the spring-forward gap opens at the jump, when the clocks read 03:00',
    of: windows('Sun 02:30-04:00 America/New_York'),
    at: '2026-03-07T12:00:00Z',
    next: '2026-03-08T07:00:00.000Z',
    reads: 'Sun 03:00 EDT',
  },
  {
    name: 'a start inside the repeated hour of fall back opens the first time the clocks read it',
    of: windows('Sun 01:30-03:00 America/New_York'),
    at: '2026-10-31T12:00:00Z',
    next: '2026-11-01T05:30:00.000Z',
    reads: 'Sun 01:30 EDT',
  },
  {
    name: 'a one-day window just closed opens again a week later',
    of: windows('Tue 09:00-10:00 UTC'),
    at: '2026-12-01T10:00:00Z',
    next: '2026-12-08T09:00:00.000Z',
    reads: 'Tue 09:00 UTC',
  },
  {
    name: 'the earliest of several zones wins',
    of: windows('Mon 09:00-10:00 America/New_York', 'Mon 09:00-10:00 Asia/Tokyo'),
    at: '2026-12-06T12:00:00Z',
    next: '2026-12_07T00:00:00.000Z'.replace('_', '-'),
  },
];

for (const row of schedule) {
  test(`windows: ${row.name}`, () => {
    const at = new Date(row.at);
    assert.equal(openWindow(row.of, at) !== undefined, row.open === true);
    if (row.open) return;
    const next = nextOpening(row.of, at);
    assert.ok(next);
    assert.equal(next.at.toISOString(), row.next);
    assert.equal(openWindow(row.of, next.at) !== undefined, true, 'the window is open at its opening');
    assert.equal(openWindow(row.of, new Date(next.at.getTime() - 1)), undefined, 'and closed just before');
    if (row.reads) assert.equal(formatInZone(next.at, next.window.zone), row.reads);
  });
}

const instants: { text: string; iso?: string; error?: RegExp }[] = [
  { text: '2026-12-20T00:00', iso: '2026-12-20T00:00:00.000Z' },
  { text: '2026-12-20', iso: '2026-12-20T00:00:00.000Z' },
  { text: '2026-12-20T00:00:30Z', iso: '2026-12-20T00:00:30.000Z' },
  { text: '2026-12-20T00:00+01:00', iso: '2026-12-19T23:00:00.000Z' },
  { text: '2026-12-20T00:00 Europe/Berlin', iso: '2026-12-19T23:00:00.000Z' },
  { text: '2026-07-20T00:00 Europe/Berlin', iso: '2026-07-19T22:00:00.000Z' },
  { text: '2026-12-20T00:00 America/New_York', iso: '2026-12-20T05:00:00.000Z' },
  { text: '2026-02-30T00:00', error: /not a valid date/ },
  { text: '2026-12-20T25:00', error: /not a valid date/ },
  { text: '2026-12-20T00:00 Mars/Base', error: /not an IANA time zone/ },
  { text: '2026-12-20T00:00Z Europe/Berlin', error: /not both/ },
  { text: 'tomorrow', error: /is not a time/ },
  { text: '2026-12-20 00:00', error: /not an IANA time zone|is not a time/ },
];

for (const row of instants) {
  test(`parseInstant: "${row.text}"`, () => {
    const parsed = parseInstant(row.text);
    if (row.error) {
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.error, row.error);
    } else {
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      assert.equal(parsed.at.toISOString(), row.iso);
    }
  });
}
