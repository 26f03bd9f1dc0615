/**
 * Waits for `work` (its failure ignored), at most `ms`: for best-effort clean-up steps that a
 * frozen peer or an unreachable etcd must not be able to hold up.
 */
export async function boundedBy(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
