import { ErrorCode, RpcxError } from '../errors.js';

/**
 * @internal The server's index of connections by tag (a user id, a device id, a room): which
 * connections carry a tag, so a push can go to "user alice" rather than to one socket. A
 * connection's tags leave the index when it closes. Generic over the connection type so that
 * this module needs nothing from connection.ts.
 */
export class TagIndex<C> {
  readonly #byTag = new Map<string, Set<C>>();
  readonly #maxTagsPerConnection: number;

  constructor(maxTagsPerConnection: number) {
    this.#maxTagsPerConnection = maxTagsPerConnection;
  }

  /** Adds `conn` under `tag`; `own` is the connection's own tag set (checked against the bound). */
  add(tag: string, conn: C, own: Set<string>): void {
    if (typeof tag !== 'string') throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `a tag is a string, got ${typeof tag}`);
    if (own.has(tag)) return;
    if (own.size >= this.#maxTagsPerConnection) {
      throw new RpcxError(ErrorCode.LIMIT, `a connection carries at most ${this.#maxTagsPerConnection} tags`);
    }
    own.add(tag);
    let set = this.#byTag.get(tag);
    if (set === undefined) {
      set = new Set();
      this.#byTag.set(tag, set);
    }
    set.add(conn);
  }

  delete(tag: string, conn: C, own: Set<string>): boolean {
    if (!own.delete(tag)) return false;
    const set = this.#byTag.get(tag);
    if (set !== undefined) {
      set.delete(conn);
      if (set.size === 0) this.#byTag.delete(tag);
    }
    return true;
  }

  /** The connections under `tag` (a live view: copy before awaiting between uses). */
  get(tag: string): ReadonlySet<C> {
    return this.#byTag.get(tag) ?? EMPTY;
  }

  /** Number of distinct tags in use. */
  get size(): number {
    return this.#byTag.size;
  }
}

const EMPTY: ReadonlySet<never> = new Set<never>();
