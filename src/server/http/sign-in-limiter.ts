import { ErrorCode, SlipwayError } from '../../core/errors.ts';
import type { Clock } from '../../core/clock.ts';

/**
 * Failed sign-ins per client address, in memory: at most `max` in a sliding `windowMs`, then
 * RATE_LIMITED until the oldest ages out. It covers guesses at emails nobody has (the per-user
 * limit in the store covers one account from many addresses). Bounded: the least recently failing
 * addresses are forgotten first.
 *
 * An attempt counts as a failure from the moment it starts (`attempt`) until it is forgiven, so
 * guesses sent at once cannot all pass the check while the first ones are still being verified.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly max = 20,
    private readonly windowMs = 10 * 60_000,
    private readonly capacity = 10_000,
  ) {}

  check(address: string): void {
    const now = this.clock.now().getTime();
    const recent = this.recent(address, now);
    if (recent.length >= this.max) {
      const retryAfterSeconds = Math.max(1, Math.ceil(((recent[0] ?? now) + this.windowMs - now) / 1000));
      throw new SlipwayError(ErrorCode.RATE_LIMITED, `too many failed sign-ins from this address: try again in ${retryAfterSeconds}s`, { retryAfterSeconds });
    }
  }

  /**
   * Checks the address (RATE_LIMITED at the limit) and counts this attempt as a failure now;
   * returns `forgive`, to call when the attempt turns out not to be a failed sign-in.
   */
  attempt(address: string): () => void {
    this.check(address);
    const at = this.fail(address);
    let forgiven = false;
    return () => {
      if (forgiven) return;
      forgiven = true;
      const recent = this.failures.get(address);
      const index = recent?.lastIndexOf(at) ?? -1;
      if (recent && index >= 0) recent.splice(index, 1);
      if (recent?.length === 0) this.failures.delete(address);
    };
  }

  fail(address: string): number {
    const now = this.clock.now().getTime();
    const recent = this.recent(address, now);
    recent.push(now);
    this.failures.delete(address);
    this.failures.set(address, recent);
    while (this.failures.size > this.capacity) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
    return now;
  }

  private recent(address: string, now: number): number[] {
    return (this.failures.get(address) ?? []).filter((at) => at > now - this.windowMs);
  }
}
