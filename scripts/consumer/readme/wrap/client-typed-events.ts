// oxlint-disable no-unused-vars -- used by the README fragment placed at the marker
// The Client section's typed events: the map and the client at the top level, the server's
// lines in a provider (a constructor and a method).
import { Injectable } from '@nestjs/common';
import { HubService } from 'ws-hub';
import { createHubClient } from 'ws-hub/client';

declare const url: string;
declare function render(from: string, text: string): void;

// @readme 1-23

declare const user: { id: string };
declare const text: string;
declare const room: string;

@Injectable()
export class ChatNotifier {
  // @readme 24-25
  notify(): void {
    // @readme 26-27
  }
}
