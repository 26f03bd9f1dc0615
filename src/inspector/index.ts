/**
 * Live statecharts: a loopback bridge that feeds every actor's snapshots and events (secrets
 * stripped) to the Stately inspector in a browser.
 *
 * @example
 * ```ts
 * import { createSupervisor } from 'mcp-supervisor';
 * import { startInspector } from 'mcp-supervisor/inspector';
 * const inspector = await startInspector();
 * const supervisor = createSupervisor(config, { inspect: inspector.inspect });
 * console.log(`open ${inspector.url}`);
 * ```
 *
 * @packageDocumentation
 */
export { startInspector } from '../observe/inspector.js';
export type { InspectorBridge, StartInspectorOptions } from '../observe/inspector.js';
export type { Role, TokenSpec } from '../observe/tokens.js';
