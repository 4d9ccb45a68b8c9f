// Fairway as a library (the package's main export): start() runs the whole proxy in this
// process, createProxy() serves inside an existing node:http server, FairwayConfigError reports
// an invalid config. The CLI (bin/fairway.js → main.ts) is built on the same Runtime.
//
//   import { start, createProxy, FairwayConfigError } from 'fairway';

export { start, type Fairway, type StartOptions } from './lib/start.ts';
export { createProxy, type CreateProxyOptions, type EmbeddedProxy } from './lib/embed.ts';
export { FairwayConfigError, type ConfigProblem } from './lib/errors.ts';
export type { EmbeddedConfig, FairwayConfig } from './lib/config.ts';
export type { CommonOptions, LogLevel, Observable } from './lib/instance.ts';
export type { Logger } from './observability/log.ts';
export type { PoolStatus, Status, UpstreamStatus } from './admin/status.ts';
export type { BalancingFigures, RecentTraffic, TrafficSeries } from './admin/explain.ts';
export type { Event as FairwayEvent } from './observability/events.ts';
