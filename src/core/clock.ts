/** Services take a Clock so tests can control time (lock expiry, soak) without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
