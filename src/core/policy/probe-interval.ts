import type { HealthSettings } from '../settings.js';

/** How much the healthy interval grows with each good probe in a row. */
export const STABLE_STRETCH_FACTOR = 1.5;

/**
 * A connection that keeps answering is probed less and less often, up to `stableIntervalMs`
 * (15 s → 22.5 s → 33.8 s → 50.6 s → 60 s with the defaults); any miss or slow answer starts the
 * streak over. Idle fleets thus cost few pings while a fresh or shaky connection is watched closely.
 */
export function healthyProbeInterval(
  settings: Pick<HealthSettings, 'healthyIntervalMs' | 'stableIntervalMs'>,
  goodStreak: number,
): number {
  const stretched = settings.healthyIntervalMs * STABLE_STRETCH_FACTOR ** Math.max(0, goodStreak);
  return Math.round(Math.min(Math.max(settings.stableIntervalMs, settings.healthyIntervalMs), stretched));
}

/** How early a probe may end before its own slot and still count as that slot's (timers and the wall clock disagree by a ms or so). */
const SLOT_TOLERANCE_MS = 20;

/** What {@link slottedProbeDelay} needs to place the next probe. */
export interface ProbeSlot {
  /** The interval (ms) the slots repeat at. */
  intervalMs: number;
  /** Where in the interval this connection's slots fall, as a share of it in [0, 1). */
  phase: number;
  /** Now (epoch ms). */
  now: number;
  /** The least delay (ms) to accept: a slot sooner than this is passed over for the one after it. 0 by default. */
  notSoonerThanMs?: number;
}

/**
 * The delay before the next probe of a connection that probes at its own slots: instants
 * `phase × interval` apart from each other by whole intervals. A fleet's connections have phases
 * spread over the interval, so their probes are spread evenly, and they stay so: a probe that ran
 * late (the event loop was busy) is followed by one at its next slot, not one whole interval after
 * it ran, so lateness does not move a connection's phase. Counting each interval from the moment a
 * probe ran instead lets probes that fell due during a busy stretch come out packed at its end, and
 * the next round finds them packed and the stretch busier: at 10 000 connections that was the
 * loop's worst delay (docs/performance.md). A probe so late that it ends within 20 ms of its next
 * slot (or past it) skips that slot: at most one probe per slot, however far behind the loop is.
 *
 * The delay is never more than the interval, so no detection bound gets longer. Whole ms, at
 * least 1.
 */
export function slottedProbeDelay(slot: ProbeSlot): number {
  const { intervalMs, now } = slot;
  if (!(intervalMs > 0)) return 1;
  if (!Number.isFinite(now)) return Math.max(1, Math.round(intervalMs));
  const offset = (Number.isFinite(slot.phase) ? Math.min(Math.max(slot.phase, 0), 1) : 0) * intervalMs;
  const tolerance = Math.min(SLOT_TOLERANCE_MS, intervalMs / 4);
  const asked = slot.notSoonerThanMs;
  const least = Math.min(Math.max(Number.isFinite(asked) ? asked! : 0, tolerance), intervalMs);
  // The first slot at least `least` from now; it is at most one interval after that.
  const next = offset + Math.ceil((now + least - offset) / intervalMs) * intervalMs;
  return Math.max(1, Math.round(Math.min(next - now, intervalMs)));
}
