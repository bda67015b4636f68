// The check-backs and deliveries whose timer fired, waiting for a slot: a FIFO
// of message ids without duplicates. Every operation is O(1) (amortised), so a
// large due set costs nothing per completion. An id taken while its previous
// run is still going is held aside and queued again when that run finishes.

export class DueQueue {
  /** FIFO from `head` on (an array and an index: taking from the front of a Set is not O(1)). */
  private order: string[] = [];
  private head = 0;
  /** The ids in `order` from `head` on, for de-duplication. */
  private readonly queued = new Set<string>();
  /** Taken while running: queued again by finished(). */
  private readonly deferred = new Set<string>();

  get size(): number {
    return this.queued.size + this.deferred.size;
  }

  /** The id is due (again). No-op if it already waits. */
  add(id: string): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    this.order.push(id);
  }

  /** The oldest due id that is not running now, or undefined; running ones are deferred. */
  take(isRunning: (id: string) => boolean): string | undefined {
    while (this.head < this.order.length) {
      const id = this.order[this.head] as string;
      this.head += 1;
      this.queued.delete(id);
      this.compact();
      if (!isRunning(id)) return id;
      this.deferred.add(id);
    }
    return undefined;
  }

  /** The run of `id` finished: if it became due meanwhile, it is queued again. */
  finished(id: string): void {
    if (this.deferred.delete(id)) this.add(id);
  }

  /** Forgets every waiting id (runs going on finish, without being queued again). */
  clear(): void {
    this.order = [];
    this.head = 0;
    this.queued.clear();
    this.deferred.clear();
  }

  /** Drops the taken prefix once it is most of the array (amortised O(1)). */
  private compact(): void {
    if (this.head === this.order.length) {
      this.order = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
