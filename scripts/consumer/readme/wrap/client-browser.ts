// oxlint-disable no-unused-vars -- used by the README fragment placed at the marker
// The Client section's browser example; the page's own helpers are declared here.
declare const auth: { freshToken(): Promise<string> };
declare function banner(text: string): void;
declare function showLogin(): void;
declare function toast(data: unknown): void;

// @readme
