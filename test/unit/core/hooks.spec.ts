import type { ModuleRef } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { resolveHook } from '../../../src/ws-hub/core/hooks.js';

class Authorizer {
  constructor(readonly allowed = 'lobby') {}
  authorizeJoin(ctx: { room: string }): boolean {
    return ctx.room === this.allowed;
  }
}

type Fn = (ctx: { room: string }) => boolean;

/** A container that has `provided` instances, and creates anything else. */
function moduleRef(provided: Map<unknown, unknown>, created: unknown[]): ModuleRef {
  return {
    get(type: unknown) {
      if (!provided.has(type)) throw new Error('not a provider');
      return provided.get(type);
    },
    async create(type: new () => unknown) {
      const instance = new type();
      created.push(instance);
      return instance;
    },
  } as unknown as ModuleRef;
}

describe('resolveHook', () => {
  it('takes a function as it is, and nothing as nothing', async () => {
    const fn: Fn = () => true;
    const ref = moduleRef(new Map(), []);
    expect(await resolveHook<Fn>(ref, fn, 'authorizeJoin')).toBe(fn);
    expect(await resolveHook<Fn>(ref, undefined, 'authorizeJoin')).toBeUndefined();
  });

  it("binds the method of the container's instance of a provider class", async () => {
    const instance = new Authorizer('vip');
    const created: unknown[] = [];
    const hook = await resolveHook<Fn>(
      moduleRef(new Map([[Authorizer, instance]]), created),
      Authorizer,
      'authorizeJoin',
    );
    expect(hook!({ room: 'vip' })).toBe(true); // `this` is the provider's instance
    expect(hook!({ room: 'lobby' })).toBe(false);
    expect(created).toEqual([]);
  });

  it('creates a class that is not a provider', async () => {
    const created: unknown[] = [];
    const hook = await resolveHook<Fn>(moduleRef(new Map(), created), Authorizer, 'authorizeJoin');
    expect(created).toHaveLength(1);
    expect(hook!({ room: 'lobby' })).toBe(true);
  });
});
