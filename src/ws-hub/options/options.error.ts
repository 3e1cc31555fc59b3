/** Thrown at startup for an option that cannot work; the message names the option. */
export class WsHubOptionsError extends Error {
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(`WsHubModule: option "${option}" ${problem}`);
    this.name = 'WsHubOptionsError';
  }
}
