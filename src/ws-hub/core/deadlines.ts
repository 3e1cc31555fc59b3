/**
 * One timer for many deadlines (token expiries, refresh requests): items are kept in buckets
 * of `resolutionMs`, and a single timer wakes at the earliest bucket, hands its items to `due`
 * and re-arms for the next one. Adding, moving and removing an item is O(1); a wake costs only
 * the items due then, so 10 000 connections that each refresh once a minute cost nothing in
 * between. An item fires at most `resolutionMs` after its deadline, never before it.
 */
export class Deadlines<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private readonly bucketOf = new Map<T, number>();
  /** Bucket numbers, a min-heap (an emptied bucket stays until it reaches the top). */
  private readonly heap: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The bucket the timer is armed for. */
  private armedFor = Infinity;

  constructor(
    private readonly due: (item: T) => void,
    private readonly resolutionMs = 250,
    private readonly now: () => number = Date.now,
  ) {}

  /** Items waiting. */
  get size(): number {
    return this.bucketOf.size;
  }

  /** Whether `item` has a deadline. */
  has(item: T): boolean {
    return this.bucketOf.has(item);
  }

  /** Sets (or moves) `item`'s deadline to `atMs` (epoch ms). */
  set(item: T, atMs: number): void {
    this.delete(item);
    // The bucket after the deadline: never early.
    const bucket = Math.ceil(atMs / this.resolutionMs);
    let items = this.buckets.get(bucket);
    if (items === undefined) {
      this.buckets.set(bucket, (items = new Set()));
      push(this.heap, bucket);
    }
    items.add(item);
    this.bucketOf.set(item, bucket);
    if (bucket < this.armedFor) this.arm(bucket);
  }

  /** Drops `item`'s deadline. */
  delete(item: T): void {
    const bucket = this.bucketOf.get(item);
    if (bucket === undefined) return;
    this.bucketOf.delete(item);
    const items = this.buckets.get(bucket)!;
    items.delete(item);
    if (items.size === 0) this.buckets.delete(bucket);
    if (this.bucketOf.size === 0) this.stop();
  }

  /** Drops every deadline and the timer. */
  clear(): void {
    this.buckets.clear();
    this.bucketOf.clear();
    this.heap.length = 0;
    this.stop();
  }

  private arm(bucket: number): void {
    clearTimeout(this.timer);
    this.armedFor = bucket;
    const delayMs = Math.max(0, bucket * this.resolutionMs - this.now());
    this.timer = setTimeout(() => this.wake(), delayMs);
    this.timer.unref();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    if (this.bucketOf.size === 0) this.heap.length = 0;
  }

  /** The earliest bucket still holding items (emptied ones are dropped on the way). */
  private earliest(): number {
    const heap = this.heap;
    while (heap.length > 0 && !this.buckets.has(heap[0])) pop(heap);
    return heap.length > 0 ? heap[0] : Infinity;
  }

  private wake(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const nowBucket = Math.floor(this.now() / this.resolutionMs);
    for (;;) {
      const earliest = this.earliest();
      if (earliest > nowBucket) {
        if (earliest !== Infinity) this.arm(earliest);
        return;
      }
      pop(this.heap);
      const items = this.buckets.get(earliest)!;
      this.buckets.delete(earliest);
      for (const item of items) {
        this.bucketOf.delete(item);
        this.due(item);
      }
    }
  }
}

function push(heap: number[], value: number): void {
  let i = heap.push(value) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= value) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = value;
}

function pop(heap: number[]): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const child = left + 1 < heap.length && heap[left + 1] < heap[left] ? left + 1 : left;
    if (heap[child] >= last) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = last;
}
