import type { Connection } from './connection.js';

/**
 * The local registry: this instance's clients by id, as a dense array (the broadcast loop walks
 * it, cheaper than a Map), by user, and a count per IP. Indexes only: who is told about a
 * change (the cluster, the streams) is the caller's business.
 */
export class ClientRegistry {
  private readonly byId = new Map<string, Connection>();
  /** The same clients, densely packed; `client.index` is each one's position. */
  readonly list: Connection[] = [];
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly byIp = new Map<string, number>();

  get size(): number {
    return this.list.length;
  }

  get(clientId: string): Connection | undefined {
    return this.byId.get(clientId);
  }

  has(clientId: string): boolean {
    return this.byId.has(clientId);
  }

  values(): IterableIterator<Connection> {
    return this.byId.values();
  }

  /** Distinct users with a connection here. */
  get userCount(): number {
    return this.byUser.size;
  }

  /** Connections of a user on this instance (the live set; do not modify). */
  ofUser(userId: string): ReadonlySet<Connection> | undefined {
    return this.byUser.get(userId);
  }

  /** Connections currently open from one IP. */
  fromIp(ip: string): number {
    return this.byIp.get(ip) ?? 0;
  }

  /**
   * Gives a registered client another id (a resumed session takes back its previous one); a
   * connection still registered under that id (being replaced) stays in the other indexes
   * until it is deleted.
   */
  rekey(client: Connection, id: string): void {
    if (this.byId.get(client.id) === client) this.byId.delete(client.id);
    client.id = id;
    this.byId.set(id, client);
  }

  /** Adds a client; returns true when it is its user's first connection here. */
  add(client: Connection): boolean {
    this.byId.set(client.id, client);
    client.index = this.list.length;
    this.list.push(client);
    if (client.ip !== undefined) this.countIp(client.ip, 1);
    const userId = client.userId;
    if (userId === undefined) return false;
    let set = this.byUser.get(userId);
    const first = set === undefined;
    if (!set) this.byUser.set(userId, (set = new Set()));
    set.add(client);
    return first;
  }

  /** Removes a client; returns true when it was its user's last connection here. */
  delete(client: Connection): boolean {
    if (client.index < 0) return false;
    // A connection replaced by a resume of its session shares its id with the newer one.
    if (this.byId.get(client.id) === client) this.byId.delete(client.id);
    // Swap-remove; the broadcast loop walks the list backwards, so a client removed while it
    // runs (a slow consumer closed) only moves an already-served client into its place.
    const last = this.list.pop()!;
    if (last !== client) {
      this.list[client.index] = last;
      last.index = client.index;
    }
    client.index = -1;
    if (client.ip !== undefined) this.countIp(client.ip, -1);
    const userId = client.userId;
    if (userId === undefined) return false;
    const set = this.byUser.get(userId);
    if (!set || !set.delete(client) || set.size > 0) return false;
    this.byUser.delete(userId);
    return true;
  }

  private countIp(ip: string, delta: 1 | -1): void {
    const n = (this.byIp.get(ip) ?? 0) + delta;
    if (n <= 0) this.byIp.delete(ip);
    else this.byIp.set(ip, n);
  }
}
