import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** The correlation id of the frame being handled (the hub's socket adapter passes it after the event). */
export const FrameId = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): string | number | undefined => {
    const id = ctx.getArgByIndex(3);
    return typeof id === 'string' || typeof id === 'number' ? id : undefined;
  },
);
