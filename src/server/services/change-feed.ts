import type { Logger } from 'pino';
import { topicsOfAction, type ChangeTopic } from '../../core/change-topics.ts';
import type { Clock } from '../../core/clock.ts';
import type { EventStore, ProjectStore } from '../../store/store.ts';

/** Something of one project changed: whoever shows `topics` of it reloads them. */
export interface Change {
  projectId: string;
  /** Its name as people know it (a deleted project's former name). */
  project: string;
  topics: ChangeTopic[];
  at: string;
}

/** One listener of the feed: a dashboard's stream. */
export interface ChangeSubscriber {
  /** The project it follows; null: every project `reaches` allows. */
  projectId: string | null;
  /** Whether it may hear of a project (its token's scope); asked only when projectId is null. */
  reaches(projectId: string): boolean;
  send(change: Change): void;
  /** The feed is closing: end the stream. */
  end(): void;
}

export interface ChangeFeedOptions {
  store: Pick<EventStore, 'lastEventId' | 'listEventHeads' | 'onEventsAppended'> & Pick<ProjectStore, 'findProjectById'>;
  clock: Clock;
  log?: Pick<Logger, 'warn'>;
  /** How often the audit log is read for what other replicas recorded (default 250 ms); this process's own events wake it at once. */
  tickMs?: number;
}

/** Events read per query; more waiting are read at once after. */
const BATCH = 500;
/**
 * How long a hole in the event ids is waited for. On PostgreSQL a transaction that took an id
 * may commit after one that took a later id (or roll back and leave the hole for ever); the
 * tail rereads above the hole until it fills or this much time has passed.
 */
const GAP_MS = 2_000;
/** Touches of one project are sent at most this often: a fleet of reporting agents makes one message, not hundreds. */
const TOUCH_MS = 100;
const MAX_NAMES = 10_000;

/**
 * The changes of every project, for the streams of this process. Two sources:
 *
 * - the audit log (`events`), which every change a person or automation makes writes in the
 *   same transaction: tailed by id with ONE query per tick for all subscribers, so changes made
 *   through any replica reach every replica's streams. This process's own commits wake the tail
 *   at once (Store.onEventsAppended); other replicas' are found within `tickMs`;
 * - `touch(projectId, topics)`: what is not audited (agents' reports and health, build states
 *   and logs, check reports, a rollout's progress across instances) from the services of this
 *   process. Touches do not cross replicas.
 *
 * Tail states: idle (nobody subscribed: no timer, no query) → waiting (timer, or a wake-up) →
 * reading → sending → waiting … ; the last unsubscribe goes back to idle, and the next
 * subscribe starts from the newest event (no replay of what happened while idle).
 */
export class ChangeFeed {
  readonly #store: ChangeFeedOptions['store'];
  readonly #clock: Clock;
  readonly #log: ChangeFeedOptions['log'];
  readonly #tickMs: number;
  readonly #byProject = new Map<string, Set<ChangeSubscriber>>();
  readonly #everywhere = new Set<ChangeSubscriber>();
  readonly #names = new Map<string, string>();
  #count = 0;
  #closed = false;
  readonly #stopWake: () => void;

  // The tail.
  /** Every id at or below it has been read (or given up on). */
  #cursor: number | undefined;
  /** Ids above the cursor read already (past a hole). */
  #seen = new Set<number>();
  #gapSince: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;

  // Touches waiting to go out.
  #touched = new Map<string, Set<ChangeTopic>>();
  #touchTimer: NodeJS.Timeout | undefined;

  constructor(options: ChangeFeedOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#tickMs = options.tickMs ?? 250;
    this.#stopWake = this.#store.onEventsAppended(() => this.#wake());
  }

  /** Streams open on this process. */
  get subscribers(): number {
    return this.#count;
  }

  /** Starts sending `subscriber` changes; returns the unsubscribe. */
  subscribe(subscriber: ChangeSubscriber): () => void {
    if (this.#closed) {
      subscriber.end();
      return () => {};
    }
    if (subscriber.projectId === null) {
      this.#everywhere.add(subscriber);
    } else {
      let set = this.#byProject.get(subscriber.projectId);
      if (set === undefined) this.#byProject.set(subscriber.projectId, (set = new Set()));
      set.add(subscriber);
    }
    this.#count += 1;
    if (this.#count === 1) this.#schedule(0);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.#count -= 1;
      if (subscriber.projectId === null) {
        this.#everywhere.delete(subscriber);
      } else {
        const set = this.#byProject.get(subscriber.projectId);
        set?.delete(subscriber);
        if (set?.size === 0) this.#byProject.delete(subscriber.projectId);
      }
      if (this.#count === 0) this.#idle();
    };
  }

  /** Something of `projectId` changed that the audit log does not record; reaches this process's streams only. */
  touch(projectId: string, topics: readonly ChangeTopic[]): void {
    if (this.#closed || this.#count === 0) return;
    if (!this.#byProject.has(projectId) && this.#everywhere.size === 0) return;
    let set = this.#touched.get(projectId);
    if (set === undefined) this.#touched.set(projectId, (set = new Set()));
    for (const topic of topics) set.add(topic);
    this.#touchTimer ??= setTimeout(() => {
      this.#touchTimer = undefined;
      const touched = this.#touched;
      this.#touched = new Map();
      this.#send(touched).catch((err: unknown) => this.#log?.warn({ err }, 'the change feed could not send touches'));
    }, TOUCH_MS);
  }

  /** Ends every stream and stops reading (the server is stopping). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWake();
    this.#idle();
    for (const subscriber of [...this.#everywhere, ...[...this.#byProject.values()].flatMap((set) => [...set])]) subscriber.end();
    this.#everywhere.clear();
    this.#byProject.clear();
    this.#count = 0;
  }

  #wake(): void {
    if (this.#count === 0 || this.#closed) return;
    // Several commits in a row make one read.
    this.#schedule(0);
  }

  #idle(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#touchTimer);
    this.#timer = undefined;
    this.#touchTimer = undefined;
    this.#touched.clear();
    this.#cursor = undefined;
    this.#seen.clear();
    this.#gapSince = undefined;
  }

  #schedule(ms: number): void {
    if (this.#reading) {
      // The read in flight may have begun before the commit that woke us: read once more after it.
      if (ms === 0) this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#reading = this.#read().finally(() => {
        this.#reading = undefined;
        if (this.#count === 0 || this.#closed) return;
        const again = this.#again;
        this.#again = false;
        this.#schedule(again ? 0 : this.#tickMs);
      });
    }, ms);
  }

  async #read(): Promise<void> {
    try {
      if (this.#cursor === undefined) {
        this.#cursor = await this.#store.lastEventId();
        return;
      }
      const heads = await this.#store.listEventHeads(this.#cursor, BATCH);
      const changed = new Map<string, Set<ChangeTopic>>();
      for (const head of heads) {
        if (this.#seen.has(head.id)) continue;
        this.#seen.add(head.id);
        if (head.projectId === null) continue;
        let set = changed.get(head.projectId);
        if (set === undefined) changed.set(head.projectId, (set = new Set()));
        for (const topic of topicsOfAction(head.action)) set.add(topic);
        // A deleted project changes its name (`~<id>`): ask for it again.
        if (head.action.startsWith('project.')) this.#names.delete(head.projectId);
      }
      this.#advance();
      if (heads.length === BATCH) this.#again = true;
      if (changed.size > 0) await this.#send(changed);
    } catch (err) {
      // The next tick reads again from the same cursor: nothing is lost, a dashboard is late.
      this.#log?.warn({ err }, 'the change feed could not read the audit log');
    }
  }

  /** Moves the cursor over the ids read without a hole below them; gives a hole up after GAP_MS. */
  #advance(): void {
    let cursor = this.#cursor ?? 0;
    const step = () => {
      while (this.#seen.delete(cursor + 1)) cursor += 1;
    };
    step();
    if (this.#seen.size === 0) {
      this.#gapSince = undefined;
    } else {
      const now = this.#clock.now().getTime();
      this.#gapSince ??= now;
      if (now - this.#gapSince >= GAP_MS) {
        cursor = Math.min(...this.#seen) - 1;
        step();
        this.#gapSince = this.#seen.size === 0 ? undefined : now;
      }
    }
    this.#cursor = cursor;
  }

  async #send(changed: Map<string, Set<ChangeTopic>>): Promise<void> {
    const at = this.#clock.now().toISOString();
    for (const [projectId, topics] of changed) {
      const followers = this.#byProject.get(projectId);
      const everywhere = [...this.#everywhere].filter((s) => s.reaches(projectId));
      if ((followers === undefined || followers.size === 0) && everywhere.length === 0) continue;
      const project = await this.#nameOf(projectId);
      if (project === undefined) continue;
      const change: Change = { projectId, project, topics: [...topics], at };
      for (const subscriber of [...(followers ?? []), ...everywhere]) subscriber.send(change);
    }
  }

  async #nameOf(projectId: string): Promise<string | undefined> {
    const known = this.#names.get(projectId);
    if (known !== undefined) return known;
    const row = await this.#store.findProjectById(projectId);
    if (row === undefined) return undefined;
    const name = row.deletedAt == null ? row.name : (row.deletedName ?? row.name);
    if (this.#names.size >= MAX_NAMES) this.#names.clear();
    this.#names.set(projectId, name);
    return name;
  }
}
