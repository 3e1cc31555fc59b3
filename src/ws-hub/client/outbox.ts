/** A frame waiting for the connection, already serialized; `id` when it is a request. */
export interface OutboxItem {
  frame: string;
  id?: number;
}

export type Outbox = ReturnType<typeof createOutbox>;

/** Bounded FIFO of frames written while not open, flushed in order on open. */
export function createOutbox(maxMessages: number) {
  let items: OutboxItem[] = [];
  return {
    get size() {
      return items.length;
    },
    /** False when full. */
    push(item: OutboxItem): boolean {
      if (items.length >= maxMessages) return false;
      items.push(item);
      return true;
    },
    remove(id: number): void {
      items = items.filter((item) => item.id !== id);
    },
    /** Removes and returns everything queued. */
    drain(): OutboxItem[] {
      const all = items;
      items = [];
      return all;
    },
  };
}
