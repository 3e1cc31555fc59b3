// oxlint-disable no-unused-vars -- used by the README fragment placed at the marker
// The Redis Cluster section's two ways to turn cluster mode on.
import { Cluster } from 'ioredis';
import { WsHubModule } from 'ws-hub';

declare const nodes: { host: string; port: number }[];

// @readme
