import type { ProcessObserver } from './process-group.js';

/** Keeps track of every live server process group, to end them if the supervisor dies hard. */
export interface GroupWatchdog {
  watch(pgid: number): void;
  forget(pgid: number): void;
}

/** What the process-launching transports report to, when the supervisor wants to know. */
export interface ProcessSupport {
  observer?: ProcessObserver;
  watchdog?: GroupWatchdog;
}
