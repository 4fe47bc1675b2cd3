/**
 * The clock every `readStartedAt` is measured on: monotonic, sub-millisecond. A cache compares it
 * with the time of its last drop of an id to refuse a read that raced the drop.
 */
export const cacheClock = (): number => performance.now();
