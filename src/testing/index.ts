/**
 * Test helpers for users' own test suites: network fault injection in front of a real server.
 */
export { startFaultProxy } from './fault-proxy.js';
export type {
  BlackholeToxic,
  FaultProxy,
  FaultProxyOptions,
  LatencyToxic,
  LimitDataToxic,
  ResetToxic,
  SlicerToxic,
  Toxic,
  ToxicDirection,
} from './fault-proxy.js';
