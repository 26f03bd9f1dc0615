/**
 * Rendezvous (highest-random-weight) hashing: which live member of a cluster owns a server.
 *
 * Every member computes the same answer from the same member list, with no coordination: each
 * (member, server) pair gets a pseudo-random weight and the heaviest member owns the server.
 * When a member leaves, only its own servers move (each to the next-heaviest member); when one
 * joins, it takes about 1/n of every other member's servers and nothing else moves.
 */

/** FNV-1a over the UTF-16 code units of `text`, 32 bits. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** MurmurHash3's finalizer: FNV-1a alone spreads similar names (`i1`, `i2`) poorly in the high bits. */
function mix(value: number): number {
  let hash = value;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** The weight of `member` for `server`; a NUL separates them so ("a", "bc") and ("ab", "c") differ. */
export function rendezvousWeight(member: string, server: string): number {
  return mix(fnv1a(`${member}\u0000${server}`));
}

/**
 * The member that owns `server` among `members`: the one with the highest weight, ties going to
 * the smaller name so every member agrees. Undefined when there are no members.
 */
export function rendezvousOwner(server: string, members: Iterable<string>): string | undefined {
  let owner: string | undefined;
  let best = -1;
  for (const member of members) {
    const weight = rendezvousWeight(member, server);
    if (weight > best || (weight === best && owner !== undefined && member < owner)) {
      owner = member;
      best = weight;
    }
  }
  return owner;
}
