import { Logger } from '@nestjs/common';

/** The one context name every ws-hub log line carries. */
const LOG_CONTEXT = 'WsHub';

/**
 * The library's logger. Nest's `Logger` instances delegate to the app's logger at call time,
 * so one shared instance follows `app.useLogger()` and `Logger.overrideLogger()`.
 */
export const hubLogger = new Logger(LOG_CONTEXT);
