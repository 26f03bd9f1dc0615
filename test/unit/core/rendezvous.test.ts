import { describe, expect, it } from 'vitest';
import { rendezvousOwner, rendezvousWeight } from '../../../src/core/policy/rendezvous.js';

const servers = Array.from({ length: 3_000 }, (_, index) => `server-${index}`);

function owners(members: string[]): Map<string, string> {
  return new Map(servers.map((server) => [server, rendezvousOwner(server, members)!]));
}

function shares(assignment: Map<string, string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const owner of assignment.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

describe('rendezvous hashing', () => {
  it('has no owner without members, and the only member owns everything', () => {
    expect(rendezvousOwner('files', [])).toBeUndefined();
    expect(rendezvousOwner('files', ['a'])).toBe('a');
  });

  it('does not depend on the order members are listed in', () => {
    for (const server of servers.slice(0, 200)) {
      expect(rendezvousOwner(server, ['a', 'b', 'c'])).toBe(rendezvousOwner(server, ['c', 'a', 'b']));
    }
  });

  it('keeps separator-ambiguous pairs apart', () => {
    expect(rendezvousWeight('a', 'bc')).not.toBe(rendezvousWeight('ab', 'c'));
  });

  it('spreads servers about evenly over similar member names', () => {
    const counts = shares(owners(['host-1', 'host-2', 'host-3']));
    expect([...counts.keys()].sort()).toEqual(['host-1', 'host-2', 'host-3']);
    // 1 000 each expected; ±15 % is far outside chance for 3 000 draws.
    for (const count of counts.values()) expect(count).toBeGreaterThan(850);
    for (const count of counts.values()) expect(count).toBeLessThan(1_150);
  });

  it("moves only a leaving member's servers, and a joining member takes only its share", () => {
    const three = owners(['a', 'b', 'c']);
    const two = owners(['a', 'b']);
    for (const server of servers) {
      if (three.get(server) !== 'c') expect(two.get(server)).toBe(three.get(server));
      else expect(['a', 'b']).toContain(two.get(server));
    }
    const four = owners(['a', 'b', 'c', 'd']);
    let moved = 0;
    for (const server of servers) {
      if (four.get(server) === three.get(server)) continue;
      expect(four.get(server)).toBe('d');
      moved += 1;
    }
    // About a quarter of the fleet moves to the newcomer.
    expect(moved).toBeGreaterThan(600);
    expect(moved).toBeLessThan(900);
  });
});
