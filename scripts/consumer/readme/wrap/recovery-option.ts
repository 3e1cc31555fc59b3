// oxlint-disable no-unused-vars -- used by the README fragment placed at the marker
// The Message recovery section's option.
import { WsHubModule } from 'ws-hub';

// @readme
