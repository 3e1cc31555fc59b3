import type { Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';

/**
 * An option given as a function or as an injectable class with a method of that name: the
 * class is taken from the container when it is a provider, else instantiated with its
 * dependencies, and the method is bound to it.
 */
export async function resolveHook<F>(
  moduleRef: ModuleRef,
  option: F | Type<unknown> | undefined,
  method: string,
): Promise<F | undefined> {
  if (option === undefined) return undefined;
  const proto = (option as { prototype?: Record<string, unknown> }).prototype;
  if (!proto || typeof proto[method] !== 'function') return option as F;
  const type = option as Type<Record<string, F>>;
  let instance: Record<string, F>;
  try {
    instance = moduleRef.get(type, { strict: false });
  } catch {
    instance = await moduleRef.create(type);
  }
  return (instance[method] as unknown as (...args: unknown[]) => unknown).bind(instance) as F;
}
