// oxlint-disable no-unused-vars -- used by the README fragment placed at the marker
// The Scaling section's three ways to give the module Redis.
import { Redis } from 'ioredis';
import { WsHubModule } from 'ws-hub';

declare const url: string;

// @readme
