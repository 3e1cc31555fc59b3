// oxlint-disable no-unused-vars -- used by the README fragment placed at the marker
// The Scaling section's own backend, given through the adapter provider.
import type { HubAdapter } from 'ws-hub';
import { WsHubModule } from 'ws-hub';

/** The reader's own adapter and its transport's client. */
declare const NatsHubAdapter: new (connection: unknown) => HubAdapter;
declare function connect(options: { servers?: string }): Promise<unknown>;

// @readme
