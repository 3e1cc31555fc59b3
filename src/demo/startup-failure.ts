import { DemoConfig } from './demo.config.js';

/** What a listen error says about PORT or HOST. */
function listenFailure(error: NodeJS.ErrnoException & { port?: number; address?: string }) {
  const on = process.env.HOST && error.address ? ` on ${error.address}` : '';
  const where = `port ${error.port ?? process.env.PORT ?? 3000}${on}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return `demo: cannot listen: ${where} is already in use (EADDRINUSE): stop the other process or set PORT to a free port`;
    case 'EACCES':
      return `demo: cannot listen: ${where} needs privileges (EACCES): set PORT to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `demo: cannot listen: environment variable HOST=${error.address ?? process.env.HOST} is not an address of this machine (EADDRNOTAVAIL)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `demo: cannot listen: environment variable HOST=${process.env.HOST} does not resolve (${error.code})`;
    default:
      return undefined;
  }
}

/**
 * The one line a failed start prints for the mistakes a person running the demo can fix (an
 * environment value, a port in use), or undefined for anything else (printed in full).
 */
export function startupFailure(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'DemoConfigError') return error.message;
  if (error.name === 'WsHubOptionsError') {
    // The library names the option; the person has to fix the variable that set it.
    const option = (error as Error & { option?: string }).option;
    const variable = option === undefined ? undefined : DemoConfig.variableOf(option);
    return variable
      ? `demo: environment variable ${variable} gives an invalid hub option: ${error.message}`
      : `demo: ${error.message}`;
  }
  return listenFailure(error);
}
