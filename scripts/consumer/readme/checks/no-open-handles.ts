// Setup file of the snippet app's Vitest run. Its `afterAll` runs after the spec file's own
// hooks (Vitest runs after-hooks in reverse order), so it sees what the README's tests left
// behind: every socket, server and timer they opened must be gone (within a moment, as
// closing sockets finish their close handshake).
import { afterAll } from 'vitest';

/** Resources Vitest's worker holds itself, taken before the spec file runs. */
const baseline = process.getActiveResourcesInfo();

function leftover(): string[] {
  const allowed = [...baseline];
  return process.getActiveResourcesInfo().filter((resource) => {
    const i = allowed.indexOf(resource);
    if (i < 0) return true;
    allowed.splice(i, 1);
    return false;
  });
}

afterAll(async () => {
  const deadline = Date.now() + 2_000;
  while (leftover().length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const left = leftover();
  if (left.length > 0) throw new Error(`left running after the spec file: ${left.join(', ')}`);
});
