import { describe, expect, it } from 'vitest';
import {
  assertOptionalPeer,
  isMissingModule,
  loadOptionalPeer,
  MissingPeerDependencyError,
} from '../../../src/ws-hub/util/optional-peer.js';

/** The errors Node throws for a package that is not installed. */
const esmMissing = (name: string, from = '/app/node_modules/ws-hub/dist/ws-hub/x.js') =>
  Object.assign(new Error(`Cannot find package '${name}' imported from ${from}`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
const cjsMissing = (name: string) =>
  Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- /app/x.js`), {
    code: 'MODULE_NOT_FOUND',
  });

const FEATURE = 'the Redis adapter';
const HINT = 'npm install ioredis';

describe('loadOptionalPeer', () => {
  it('returns the module the importer gives', async () => {
    const mod = { Redis: class {} };
    await expect(loadOptionalPeer('ioredis', FEATURE, async () => mod)).resolves.toBe(mod);
  });

  it('turns a missing package into an error that says what to install', async () => {
    const missing = esmMissing('ioredis');
    const err = await loadOptionalPeer('ioredis', FEATURE, async () => {
      throw missing;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPeerDependencyError);
    const e = err as MissingPeerDependencyError;
    expect(e.message).toBe(
      'ws-hub: the Redis adapter needs the optional peer dependency "ioredis", which is not installed. Install it: npm install ioredis',
    );
    expect(e.message).toContain(HINT);
    expect(e.code).toBe('WS_HUB_MISSING_PEER_DEPENDENCY');
    expect(e.packageName).toBe('ioredis');
    expect(e.feature).toBe(FEATURE);
    expect(e.cause).toBe(missing);
    expect(e.name).toBe('MissingPeerDependencyError');
  });

  it('rethrows other failures as they are: a broken install is not a missing one', async () => {
    // A dependency of ioredis missing, a file of ioredis missing, an error while it loads.
    for (const thrown of [
      esmMissing('denque', '/app/node_modules/ioredis/built/Redis.js'),
      Object.assign(new Error("Cannot find module '/app/node_modules/ioredis/built/index.js'"), {
        code: 'ERR_MODULE_NOT_FOUND',
      }),
      new SyntaxError('Unexpected token'),
    ]) {
      await expect(
        loadOptionalPeer('ioredis', FEATURE, async () => {
          throw thrown;
        }),
      ).rejects.toBe(thrown);
    }
  });

  it('with the real import(), a package that is not installed gets the hint', async () => {
    const err = await loadOptionalPeer('ws-hub-no-such-package', 'a test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPeerDependencyError);
    expect((err as Error).message).toContain('npm install ws-hub-no-such-package');
  });

  it('with the real import(), an installed package loads', async () => {
    const ioredis = await loadOptionalPeer<{ Redis: unknown }>('ioredis', FEATURE);
    expect(typeof ioredis.Redis).toBe('function');
  });
});

describe('assertOptionalPeer', () => {
  it('passes when the package resolves', () => {
    expect(() => assertOptionalPeer('ioredis', FEATURE, () => '/x/index.js')).not.toThrow();
    expect(() => assertOptionalPeer('ioredis', FEATURE)).not.toThrow(); // really installed here
  });

  it('throws the hint when the package is missing (CommonJS or ESM resolution)', () => {
    for (const missing of [cjsMissing('ioredis'), esmMissing('ioredis')]) {
      expect(() =>
        assertOptionalPeer('ioredis', FEATURE, () => {
          throw missing;
        }),
      ).toThrow(HINT);
    }
    expect(() => assertOptionalPeer('ws-hub-no-such-package', 'a test')).toThrow(
      MissingPeerDependencyError,
    );
  });

  it('counts a package that resolves for import() only as present', () => {
    const notExported = Object.assign(new Error('No "exports" main defined'), {
      code: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
    expect(() =>
      assertOptionalPeer('@nestjs/terminus', 'health checks', () => {
        throw notExported;
      }),
    ).not.toThrow();
  });
});

describe('isMissingModule', () => {
  it('matches the package itself only', () => {
    expect(isMissingModule(esmMissing('ioredis'), 'ioredis')).toBe(true);
    expect(isMissingModule(cjsMissing('prom-client'), 'prom-client')).toBe(true);
    expect(isMissingModule(esmMissing('ioredis'), 'redis')).toBe(false);
    expect(isMissingModule(new Error("Cannot find package 'ioredis'"), 'ioredis')).toBe(false);
    expect(isMissingModule(undefined, 'ioredis')).toBe(false);
    expect(isMissingModule('ioredis', 'ioredis')).toBe(false);
  });
});
