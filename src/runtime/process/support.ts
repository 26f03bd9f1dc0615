import type { ProcessObserver } from './process-group.js';

/** Keeps track of every live server process group, to end them if the supervisor dies hard. */
export interface GroupWatchdog {
  /** A server process group started (its id is the leader's pid): end it should the supervisor die. */
  watch(pgid: number): void;
  /** The group has ended: stop watching it, so a reuse of its id is never signalled. */
  forget(pgid: number): void;
}

/** What the process-launching transports report to, when the supervisor wants to know. */
export interface ProcessSupport {
  observer?: ProcessObserver;
  watchdog?: GroupWatchdog;
}
