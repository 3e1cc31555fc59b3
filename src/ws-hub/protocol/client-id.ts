/**
 * Client ids are `<instanceId>.<random>`: the prefix tells every instance of a cluster which one
 * holds the connection, so `send` and `disconnect` reach exactly one instance. The format is
 * built and read only here.
 */

const SEPARATOR = '.';

/** A client id of `instanceId` with the given random part. */
export function formatClientId(instanceId: string, random: string): string {
  return instanceId + SEPARATOR + random;
}

/** The instance a client id belongs to, or undefined when it is not a hub client id. */
export function instanceOfClientId(clientId: string): string | undefined {
  const dot = clientId.indexOf(SEPARATOR);
  return dot > 0 ? clientId.slice(0, dot) : undefined;
}
