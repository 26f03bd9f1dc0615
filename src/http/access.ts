// What each request needs and, when it changes state, what the audit trail calls it. One table
// for both, so a route cannot be audited under one name and authorized under another.
import type { Role } from '../config/load.js';
import type { AuditAction } from '../observe/audit.js';

/** What one request is: the role it needs, and for a state-changing one its action and target. */
export interface RequestAccess {
  /** The weakest role that may make it. */
  role: Role;
  /** Set for requests the audit trail records. */
  action?: AuditAction;
  /** The server it is about, when the path names one. */
  target?: string;
  /** The tool, for a tool call. */
  tool?: string;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const COMMANDS = new Set(['reconnect', 'stop', 'start', 'probe']);

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Reads are `viewer`'s; commands and tool calls are `operator`'s; registering and removing
 * servers, and anything not listed here, are `admin`'s: a route added later is closed until it is
 * placed in this table.
 */
export function accessOf(method: string, path: string): RequestAccess {
  const parts = path.split('/').filter((part) => part !== '');
  // The MCP endpoint: every method is operator's, a GET too (it opens the stream of a 2025-era
  // session, which belongs to the operator token that opened it). POST and DELETE are audited; a
  // GET stream is not (its session's POSTs are).
  if (parts[0] === 'mcp' && parts.length <= 2) {
    const target = parts[1] === undefined ? undefined : decoded(parts[1]);
    return method === 'POST' || method === 'DELETE' ? { role: 'operator', action: 'mcp.request', target } : { role: 'operator' };
  }
  if (READ_METHODS.has(method)) return { role: 'viewer' };
  if (parts[0] === 'actors') {
    if (parts.length === 1 && method === 'POST') return { role: 'admin', action: 'register' };
    const target = parts[1] === undefined ? undefined : decoded(parts[1]);
    if (parts.length === 2 && method === 'DELETE') return { role: 'admin', action: 'remove', target };
    if (parts.length === 3 && method === 'POST' && COMMANDS.has(parts[2]!)) return { role: 'operator', action: parts[2] as AuditAction, target };
    if (parts.length === 4 && method === 'POST' && parts[2] === 'tools') return { role: 'operator', action: 'tool.call', target, tool: decoded(parts[3]!) };
  }
  return { role: 'admin', action: 'other' };
}
