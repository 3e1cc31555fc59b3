import { createRequire } from 'node:module';

/**
 * Optional peer dependencies (`ioredis`, and later `prom-client`, `@nestjs/terminus`): only
 * the apps that use the feature install them, so the library never imports them statically.
 * A missing one fails with what to install instead of a raw `ERR_MODULE_NOT_FOUND`.
 */

/** Thrown when a feature is used without its optional peer dependency installed. */
export class MissingPeerDependencyError extends Error {
  readonly code = 'WS_HUB_MISSING_PEER_DEPENDENCY';

  constructor(
    readonly packageName: string,
    readonly feature: string,
    options?: { cause?: unknown },
  ) {
    super(
      `ws-hub: ${feature} needs the optional peer dependency "${packageName}", which is not ` +
        `installed. Install it: npm install ${packageName}`,
      options,
    );
    this.name = 'MissingPeerDependencyError';
  }
}

/** Imports a module by name, as `import()` does; replaced in tests. */
type PeerImporter = (name: string) => Promise<unknown>;
/** Resolves a module by name, throwing when it cannot be found; replaced in tests. */
type PeerResolver = (name: string) => unknown;

const nativeImport: PeerImporter = (name) => import(name);
const nativeResolve: PeerResolver = (name) => createRequire(import.meta.url).resolve(name);

/**
 * Whether `err` says that `name` itself cannot be found (ESM `ERR_MODULE_NOT_FOUND`, CommonJS
 * `MODULE_NOT_FOUND`), as opposed to a failure inside an installed package (one of its own
 * files or dependencies missing), which is rethrown as it is.
 */
export function isMissingModule(err: unknown, name: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    (message.includes(`'${name}'`) || message.includes(`"${name}"`))
  );
}

/**
 * Loads an optional peer dependency on first use (from an async init path: no top-level
 * await, so CommonJS apps can still `require()` the library). `feature` names what needs it,
 * for the error message.
 */
export async function loadOptionalPeer<T>(
  name: string,
  feature: string,
  importer: PeerImporter = nativeImport,
): Promise<T> {
  try {
    return (await importer(name)) as T;
  } catch (err) {
    if (isMissingModule(err, name))
      throw new MissingPeerDependencyError(name, feature, { cause: err });
    throw err;
  }
}

/**
 * Checks synchronously that an optional peer dependency can be found, for an entry point
 * (`ws-hub/redis`) whose importers should fail at once with what to install. A package that
 * is present but not `require()`-able (no `require`/`default` export) counts as present.
 */
export function assertOptionalPeer(
  name: string,
  feature: string,
  resolver: PeerResolver = nativeResolve,
): void {
  try {
    resolver(name);
  } catch (err) {
    if (isMissingModule(err, name))
      throw new MissingPeerDependencyError(name, feature, { cause: err });
  }
}
