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

/**
 * An interval cut at random: `intervalMs × (1 − jitter × u)`, u in [0, 1). The wait after a slow
 * answer, a miss, or a call that stood in for the probe (with `jitter` the connection's
 * `probeJitter`), and after a chain had to be dropped ({@link chainedProbeDue}). Jitter only ever
 * shortens an interval, so every bound that holds for the plain interval (how soon a hung server is
 * noticed, a zombie declared) still holds; what it buys is spread: connections whose calls ended,
 * or whose probes failed, in the same instant do not probe again in the same timer turn. A ratio
 * outside [0, 1] is clamped and the delay is at least 1 ms (the config schema refuses such a ratio
 * with an error; this keeps a programmatic caller's mistake from stopping probes or probing in a
 * busy loop).
 */
export function jitteredProbeInterval(intervalMs: number, jitter: number, u: number): number {
  const ratio = Number.isFinite(jitter) ? Math.min(Math.max(jitter, 0), 1) : 0;
  const unit = Math.min(Math.max(u, 0), 1);
  return Math.max(1, Math.round(intervalMs * (1 - ratio * unit)));
}

/**
 * When a new session's first probe is due (and the next after an answer so late that the loop
 * must have been stuck, {@link chainedProbeDue}): with jitter, at a point drawn over the whole interval,
 * `now + intervalMs × (1 − u)` (at least 1 ms on), so a fleet that connected in one burst (a cold
 * start, a storm's reconnections) starts probing spread over the interval rather than within its
 * jittered tenth; without jitter, one interval from now. The handshake just proved the server
 * alive, so an early first probe costs nothing but one ping.
 */
export function firstProbeDue(now: number, intervalMs: number, jitter: number, u: number): number {
  if (!(jitter > 0)) return now + intervalMs;
  return now + jitteredProbeInterval(intervalMs, 1, u);
}

/**
 * When the next probe is due after a fast answer to the probe that was due at `dueAt`: with
 * jitter, a chain, `dueAt + intervalMs × (1 − jitter × u)`, counted from when this probe was due
 * rather than from its answer, so a probe that ran late (the event loop was busy when it fell due)
 * does not move the ones after it, and probes that fell due spread out stay spread even when they
 * ran packed together. Counting from the answer made every busy stretch pack the next round's
 * probes tighter, into standing clusters (docs/performance.md). Each step is still cut at random,
 * so connections that were lined up (by calls or failures that ended together) drift apart again.
 *
 * Two cases drop the chain. An answer so late that the uncut chain would follow within half an
 * interval means the loop was stuck (a cold start, a long pause), and every connection whose probe fell due
 * meanwhile answers in the same burst: the next probe is then drawn over the whole interval, as a
 * new session's first one is ({@link firstProbeDue}), which spreads that burst out in one round
 * instead of keeping it as a cluster (or following each late answer at once). A probe run early
 * (the `probe` command, a failed call), whose chain would wait more than an interval, waits a cut
 * interval from now. Without jitter, one interval from the answer, as every interval was before
 * the chain.
 */
export function chainedProbeDue(dueAt: number, now: number, intervalMs: number, jitter: number, u: number): number {
  if (!(jitter > 0)) return now + intervalMs;
  const step = jitteredProbeInterval(intervalMs, jitter, u);
  const chained = dueAt + step;
  // Judged on the uncut chain, so that u, which cuts the step, does not also decide whether the
  // whole-interval draw happens (that would skew the draw early); `chained <= now` only with a
  // ratio of 0.5 or more.
  const stuck = dueAt + intervalMs - now < intervalMs / 2;
  if (stuck || chained <= now) return firstProbeDue(now, intervalMs, jitter, u);
  return chained <= now + intervalMs ? chained : now + step;
}
