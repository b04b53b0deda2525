export * from './types.ts';
export { combine, evaluate, GATES } from './evaluate.ts';
export { checksGate, redRequiredCheck } from './checks.ts';
export { lineageGate } from './lineage.ts';
export { formatUntil, lockGate } from './lock.ts';
export { maxCommitsGate } from './max-commits.ts';
export { pinGate } from './pin.ts';
export { queueGate } from './queue.ts';
export { requiresGate } from './requires.ts';
