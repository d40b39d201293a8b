/** Where a recently appended event id landed. */
interface Landing {
  readonly stream: string;
  readonly revision: number;
}

export type IdMatch =
  | { readonly kind: 'unknown' }
  /** All the ids, in this order, at consecutive revisions of this stream from `first`. */
  | { readonly kind: 'same'; readonly first: number }
  /** Some id landed elsewhere, or not in this order. */
  | { readonly kind: 'other' };

/**
 * The event ids this process appended lately, newest kept. EventStoreDB has no index by event
 * id: it refuses an id again only in the same stream and, for `any` and `stream_exists`, only
 * while it remembers the id (a bounded cache). This remembers too, so that an id reused in
 * another stream is refused at least when it was appended through this process lately.
 */
export class RecentIds {
  private readonly landed = new Map<string, Landing>();

  constructor(private readonly keep = 100_000) {}

  match(stream: string, ids: readonly string[]): IdMatch {
    const found = ids.map((id) => this.landed.get(id));
    if (found.every((landing) => landing === undefined)) return { kind: 'unknown' };
    const first = found[0];
    const same =
      first !== undefined &&
      found.every((landing, i) => landing?.stream === stream && landing.revision === first.revision + i);
    return same ? { kind: 'same', first: first.revision } : { kind: 'other' };
  }

  remember(stream: string, ids: readonly string[], first: number): void {
    ids.forEach((id, i) => {
      this.landed.delete(id);
      this.landed.set(id, { stream, revision: first + i });
    });
    // A Map iterates in insertion order: the first keys are the oldest.
    for (const id of this.landed.keys()) {
      if (this.landed.size <= this.keep) break;
      this.landed.delete(id);
    }
  }
}
