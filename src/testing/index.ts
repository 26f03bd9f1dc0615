/**
 * Test helpers for your own test suites: a toxiproxy-style TCP proxy that injects network faults
 * (latency, blackhole, reset, slicer, limit_data) in front of a real server.
 *
 * @packageDocumentation
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
