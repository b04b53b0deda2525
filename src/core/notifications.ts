import { ErrorCode, SlipwayError } from './errors.ts';
import { RELEASE_STATES, type ReleaseKind, type ReleaseState } from './glossary.ts';

/**
 * Outgoing notifications: what is sent, in which shape. A target names the events it wants;
 * every release state change is an event `release.<state>`. The bodies are built here (pure),
 * once, when the change is committed: every attempt of a delivery sends the same bytes.
 */

/** A state a release moves into: `pending` is where it starts (its making is the audit log's `release.promote`), so nothing moves into it. */
export type NotifiedState = Exclude<ReleaseState, 'pending'>;
export type NotifyEvent = `release.${NotifiedState}`;
export const NOTIFY_EVENTS: readonly NotifyEvent[] = RELEASE_STATES.filter((state): state is NotifiedState => state !== 'pending').map((state) => `release.${state}` as const);

/** A delivery's event: a release's, or `notify.test` (`slipway notify test`), which no target subscribes to. */
export const TEST_EVENT = 'notify.test';
export type DeliveryEvent = NotifyEvent | typeof TEST_EVENT;
export const DELIVERY_EVENTS: readonly DeliveryEvent[] = [...NOTIFY_EVENTS, TEST_EVENT];

/** What a target gets when `add` names no events: the moves people act on. */
export const DEFAULT_NOTIFY_EVENTS: readonly NotifyEvent[] = ['release.live', 'release.failed', 'release.waiting', 'release.rolled_back'];

/** `json`: Slipway's own body, signed; `slack`: a Slack-compatible message (text and blocks), signed all the same. */
export const NOTIFY_FORMATS = ['json', 'slack'] as const;
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

/**
 * A delivery: pending (queued, or waiting out a backoff after a failed attempt) → delivered
 * (a 2xx answer), or failed (its last attempt failed, or its URL is refused at send time), or
 * canceled (its target was removed before it was sent).
 */
export const NOTIFY_DELIVERY_STATES = ['pending', 'delivered', 'failed', 'canceled'] as const;
export type NotifyDeliveryState = (typeof NOTIFY_DELIVERY_STATES)[number];

export function isNotifyEvent(text: string): text is NotifyEvent {
  return (NOTIFY_EVENTS as readonly string[]).includes(text);
}

/** `live,release.failed` → the events, deduplicated; a bare state means `release.<state>`. An unknown one is INVALID_REQUEST. */
export function parseNotifyEvents(names: readonly string[]): NotifyEvent[] {
  const out: NotifyEvent[] = [];
  for (const raw of names) {
    const name = raw.trim();
    if (name === '') continue;
    const event = name.includes('.') ? name : `release.${name}`;
    if (!isNotifyEvent(event)) {
      throw new SlipwayError(ErrorCode.INVALID_REQUEST, `unknown event "${name}"; events are ${NOTIFY_EVENTS.join(', ')}`, { event: name });
    }
    if (!out.includes(event)) out.push(event);
  }
  if (out.length === 0) throw new SlipwayError(ErrorCode.INVALID_REQUEST, `name at least one event (${NOTIFY_EVENTS.join(', ')})`);
  return out;
}

/** A commit of the release's batch, as notified. */
export interface NotifiedCommit {
  sha: string;
  /** The subject line; null when Slipway does not know the commit (only its id). */
  message: string | null;
  authorName: string | null;
  authorEmail: string | null;
}

/** Everything a notification says of one release state change. */
export interface ReleaseNotice {
  event: NotifyEvent;
  /** When the change was committed. */
  at: string;
  project: string;
  environment: string;
  release: {
    id: string;
    number: number;
    kind: ReleaseKind;
    state: ReleaseState;
    previousState: ReleaseState;
    /** Why it is in this state (what holds it, why it failed); null when nothing was said. */
    stateReason: string | null;
    /** Why it was made (a promotion's reason, a build). */
    reason: string | null;
    createdBy: string;
    trigger: 'user' | 'automation';
    deploymentId: string;
    commit: string | null;
    branch: string | null;
  };
  batch: { commits: NotifiedCommit[]; truncated: boolean };
  urls: {
    /** The deployment's own URL, forever. */
    deployment: string;
    /** Whatever the environment points at. */
    environment: string;
    /** The project's page on the dashboard. */
    dashboard: string;
  };
}

/** Slipway's own body (`--format json`): the notice with a type and the delivery's id, so a receiver can drop a repeat. */
export function jsonNotification(deliveryId: string, notice: ReleaseNotice): Record<string, unknown> {
  return { type: notice.event, delivery: deliveryId, ...notice };
}

/** A Slack message lists at most this many commits; the rest are counted. */
export const SLACK_MAX_COMMITS = 10;

const STATE_WORDS: Record<ReleaseState, string> = {
  pending: 'is pending',
  waiting: 'is waiting',
  rolling_out: 'is rolling out',
  live: 'is live',
  failed: 'failed',
  rolled_back: 'was rolled back',
  canceled: 'was canceled',
  superseded: 'was superseded',
};

const STATE_EMOJI: Partial<Record<ReleaseState, string>> = { live: ':white_check_mark:', failed: ':x:', waiting: ':hourglass_flowing_sand:', rolled_back: ':rewind:' };

/** Slack's mrkdwn treats these three as markup; everything a person wrote is escaped. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A link in Slack's mrkdwn; the URL may not hold `|` or `>` (the URLs given here are Slipway's own). */
function slackLink(url: string, label: string): string {
  return `<${url.replace(/[|>]/g, encodeURIComponent)}|${slackEscape(label)}>`;
}

const KIND_WORDS: Record<ReleaseKind, string> = { promote: 'deployment', rollback: 'rollback to', config: 'config change of' };

/**
 * A Slack-compatible message (`--format slack`): `text` (the fallback Slack shows in
 * notifications) and `blocks` — a section saying what happened with a link, the reason if
 * any, the batch's commits with their authors, and links to the deployment and the dashboard.
 */
export function slackNotification(notice: ReleaseNotice): { text: string; blocks: Record<string, unknown>[] } {
  const { release } = notice;
  const emoji = STATE_EMOJI[release.state];
  const title = `${notice.project} ${notice.environment} v${release.number} ${STATE_WORDS[release.state]}`;
  const text = `${emoji ? `${emoji} ` : ''}${slackEscape(title)} (${KIND_WORDS[release.kind]} ${release.deploymentId})`;
  const blocks: Record<string, unknown>[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `${emoji ? `${emoji} ` : ''}*${slackLink(notice.urls.environment, title)}*` },
    },
  ];
  const why = release.stateReason ?? release.reason;
  if (why) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(why.slice(0, 500)) }] });
  const commits = notice.batch.commits;
  if (commits.length > 0) {
    const lines = commits.slice(0, SLACK_MAX_COMMITS).map((c) => {
      const who = c.authorName ?? c.authorEmail;
      return `\`${c.sha.slice(0, 7)}\` ${slackEscape((c.message ?? '').slice(0, 200))}${who ? ` — ${slackEscape(who)}` : ''}`;
    });
    const more = commits.length - SLACK_MAX_COMMITS;
    if (more > 0 || notice.batch.truncated) lines.push(notice.batch.truncated ? '…and more' : `…and ${more} more`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*${commits.length} commit${commits.length === 1 ? '' : 's'}*\n${lines.join('\n')}` } });
    const authors = [...new Set(commits.map((c) => c.authorName ?? c.authorEmail).filter((a): a is string => a !== null))];
    if (authors.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Authors: ${slackEscape(authors.join(', '))}` }] });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `${slackLink(notice.urls.deployment, release.deploymentId)} · ${slackLink(notice.urls.dashboard, 'Slipway')}` }],
  });
  return { text, blocks };
}

/** The body of `slipway notify test`, in the target's format: checks the URL, the signature and the receiver's parsing. */
export function testNotification(format: NotifyFormat, deliveryId: string, project: string, by: string, at: string, dashboard: string): Record<string, unknown> {
  const line = `Test notification from Slipway for ${project}, sent by ${by}`;
  if (format === 'slack') {
    return {
      text: slackEscape(line),
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `:wave: ${slackEscape(line)}: this target will hear of ${slackLink(dashboard, project)}'s releases.` } },
      ],
    };
  }
  return { type: TEST_EVENT, delivery: deliveryId, event: TEST_EVENT, at, project, message: line };
}
