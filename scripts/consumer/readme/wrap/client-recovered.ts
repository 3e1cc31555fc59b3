// oxlint-disable no-unused-vars -- used by the README fragment placed at the marker
// The Client section's recovery example: `hub` is the untyped client of the examples above.
import { createHubClient } from 'ws-hub/client';

declare function reloadDashboard(): void;
declare function toast(text: string): void;

const hub = createHubClient('wss://app.example.com/ws');

// @readme
