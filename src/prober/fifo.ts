/**
 * Deadlines kept as one FIFO per timeout value: probes with the same timeout
 * expire in start order, so each FIFO is swept from its head and no sorting
 * or heap is needed. Shared by the socket engine and the stream engine's
 * deadline queue.
 * @module
 */

interface Fifo<T> {
  items: (T | undefined)[];
  head: number;
}

/** FIFOs of items keyed by their timeout. */
export class DeadlineFifos<T> {
  readonly #fifos = new Map<number, Fifo<T>>();

  /** Appends `item` to the FIFO of `timeoutMs`. */
  push(timeoutMs: number, item: T): void {
    let fifo = this.#fifos.get(timeoutMs);
    if (!fifo) this.#fifos.set(timeoutMs, fifo = { items: [], head: 0 });
    fifo.items.push(item);
  }

  /**
   * Walks every FIFO from its head: `visit` returns true to drop the item
   * and go on (it expired, or was done already), false to stop at it (not
   * yet due). Returns the items the walks stopped at (each FIFO's new head).
   */
  sweep(visit: (item: T) => boolean): T[] {
    const heads: T[] = [];
    for (const [ms, fifo] of this.#fifos) {
      const items = fifo.items;
      let h = fifo.head;
      while (h < items.length && visit(items[h]!)) items[h++] = undefined;
      if (h === items.length) {
        this.#fifos.delete(ms);
        continue;
      }
      // Drop the consumed prefix once it is most of the array.
      if (h > 1024 && h * 2 > items.length) {
        items.splice(0, h);
        h = 0;
      }
      fifo.head = h;
      heads.push(items[h]!);
    }
    return heads;
  }

  /** Forgets every item. */
  clear(): void {
    this.#fifos.clear();
  }
}
