/** One connection waiting in `reconnecting.awaitingSlot` for the supervisor's go-ahead. */
export interface SlotRequest {
  /** The server's id. */
  id: string;
  /** The server's configured priority; higher is admitted first. */
  priority: number;
  /** When it started waiting (epoch ms); earlier waits first within a priority. */
  requestedAt: number;
}

/** What {@link admit} decides on: the waiting requests, the slots held, and the limits. */
export interface AdmissionInput {
  /** Every request waiting for a slot, in any order (admission sorts with {@link compareRequests}). */
  queue: Iterable<SlotRequest>;
  /**
   * The queue is already in {@link compareRequests} order (the supervisor keeps it so): admission
   * reads it from the front without sorting, so freeing one slot costs what it takes to find the
   * next admissible request, not a sort of every waiting one.
   */
  sorted?: boolean;
  /** Ids holding a slot now (granted, or in `connecting`). */
  inFlight: ReadonlySet<string>;
  /** Priority of each in-flight id, to count the reserved share. */
  priorityOf: (id: string) => number;
  /** The cap: slots that may be held at once (in panic, the lower panic cap). */
  maxConcurrent: number;
  /** Slots only the top priority class may use. */
  reservedForTop: number;
  /** The highest priority configured; servers at it form the top class. */
  topPriority: number;
  /** False while a dependency is not yet healthy, or while quarantined. */
  isAdmissible: (request: SlotRequest) => boolean;
}

/** Higher priority first, then longest waiting, then id so the order is total and stable. */
export function compareRequests(a: SlotRequest, b: SlotRequest): number {
  return b.priority - a.priority || a.requestedAt - b.requestedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Which waiting connections may enter `connecting` now. The cap counts every held slot, so the
 * result never lets `inFlight + admitted` exceed `maxConcurrent`; a non-top request may not take
 * the last `reservedForTop` slots, so a storm of low-priority servers cannot lock out the
 * critical ones. Requests that are not admissible are skipped, not blocking the ones behind them.
 */
export function admit(input: AdmissionInput): string[] {
  const admitted: string[] = [];
  let held = input.inFlight.size;
  let heldByOthers = [...input.inFlight].filter((id) => input.priorityOf(id) < input.topPriority).length;
  const reserved = Math.min(input.reservedForTop, Math.max(0, input.maxConcurrent - 1));
  const othersCap = input.maxConcurrent - reserved;
  for (const request of input.sorted === true ? input.queue : [...input.queue].sort(compareRequests)) {
    if (held >= input.maxConcurrent) break;
    if (input.inFlight.has(request.id) || !input.isAdmissible(request)) continue;
    const isTop = request.priority >= input.topPriority;
    if (!isTop && heldByOthers >= othersCap) continue;
    admitted.push(request.id);
    held += 1;
    if (!isTop) heldByOthers += 1;
  }
  return admitted;
}

/**
 * The default reserved share: 1 slot in 4, at least 1 when there are at least 2 slots, none when
 * there is a single slot (reserving it would starve everyone but the top class).
 */
export function defaultReservedSlots(maxConcurrent: number): number {
  return maxConcurrent < 2 ? 0 : Math.max(1, Math.floor(maxConcurrent / 4));
}
