import { BacklogFullError } from '../errors/BacklogFullError.js';

/** What lmdb's `getStats()` says of one database's pages. */
interface PageStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
  /** On the root's stats: the free-page database's own pages. */
  free?: PageStats;
}

/** An lmdb database, as far as counting its pages goes. */
interface HasStats {
  getStats(): object;
}

/** LMDB's two meta pages, in use in every store. */
const META_PAGES = 2;
/** A node's header in an LMDB page, besides its key and value. */
const NODE_OVERHEAD = 8;

function pagesOf(stats: PageStats | undefined): number {
  if (stats === undefined) return 0;
  return stats.treeBranchPageCount + stats.treeLeafPageCount + stats.overflowPages;
}

/**
 * The bytes of the pages the store's databases hold now: the main and
 * free-page databases, every sub-database given, and the meta pages. Freed
 * pages waiting for reuse do not count, so a store that delivered its tasks
 * counts as small again, although LMDB never shrinks its file.
 */
export function bytesInUse(root: HasStats, ...databases: HasStats[]): number {
  const rootStats = root.getStats() as unknown as PageStats;
  let pages = META_PAGES + pagesOf(rootStats) + pagesOf(rootStats.free);
  for (const db of databases) pages += pagesOf(db.getStats() as unknown as PageStats);
  return pages * rootStats.pageSize;
}

/**
 * The refusal of a commit of `records` (with `values`, their encoded texts,
 * in order) that would take a store using `inUse` bytes past `maxBytes`, or
 * `undefined` when it fits. The new rows are counted at their encoded size
 * (the key as `[key, seq]` JSON) plus LMDB's node header: an estimate, so a
 * store may end a commit a few pages past the cap, never more.
 */
export function checkCapacity(
  location: string,
  maxBytes: number,
  inUse: number,
  records: readonly { key: string; seq: number }[],
  values: readonly string[],
): BacklogFullError | undefined {
  let adding = 0;
  for (let i = 0; i < records.length; i++) {
    const { key, seq } = records[i] as { key: string; seq: number };
    adding +=
      NODE_OVERHEAD +
      Buffer.byteLength(values[i] as string) +
      Buffer.byteLength(JSON.stringify([key, seq]));
  }
  if (inUse + adding <= maxBytes) return undefined;
  return new BacklogFullError(
    location,
    `backlog ${location} is full: ${inUse} bytes in use and ${adding} more for ${records.length} record(s) would pass maxBytes (${maxBytes})`,
  );
}
