/** Thrown by every per-server method of a `Supervisor` when no server has this id. */
export class UnknownServerError extends Error {
  /** Always `'UnknownServerError'`. */
  override readonly name = 'UnknownServerError';
  /** The id that was asked for. */
  readonly id: string;

  /** @param id - the id that was asked for */
  constructor(id: string) {
    super(`no server with id "${id}"`);
    this.id = id;
  }
}

/** Thrown by `Supervisor.add` when a server with this id is already supervised. */
export class DuplicateServerError extends Error {
  /** Always `'DuplicateServerError'`. */
  override readonly name = 'DuplicateServerError';
  /** The id that is taken. */
  readonly id: string;

  /** @param id - the id that is taken */
  constructor(id: string) {
    super(`a server with id "${id}" already exists`);
    this.id = id;
  }
}

/** Thrown by `ClusterNode.start` when this instance cannot join its cluster (etcd unreachable, its name taken). */
export class ClusterJoinError extends Error {
  /** Always `'ClusterJoinError'`. */
  override readonly name = 'ClusterJoinError';

  /**
   * @param etcd - the etcd URLs it tried
   * @param cause - why it could not join
   */
  constructor(etcd: readonly string[], cause: unknown) {
    super(`cannot join the cluster through etcd at ${etcd.join(', ')}: ${(cause as Error).message ?? String(cause)}`, { cause });
  }
}
