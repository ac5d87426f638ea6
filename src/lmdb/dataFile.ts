import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * The checks made on `backlog.mdb` before LMDB maps it. lmdb-js does not
 * survive a file that is not one of its own: text, zeros, random bytes, a
 * wrong format version or a truncated file end the process with SIGSEGV or
 * SIGBUS, in the worker and in the CLI alike, before any error can be thrown.
 * So the two meta pages are read here first, with plain reads.
 *
 * The layout is lmdb-js 3's own LMDB (0.9.90 with its additions), on a
 * 64-bit build: each page starts with a 24-byte header (page number, txnid,
 * pad, flags, bounds), and pages 0 and 1 hold an `MDB_meta` after it:
 * magic, format version, fixed-map address, map size, the free and main
 * databases' records (the first one's pad is the page size), the last page
 * used and the txnid of the commit that wrote it.
 */
const PAGE_HEADER = 24;
const FLAGS_OFFSET = 18;
const P_META = 0x08;
const MAGIC_OFFSET = PAGE_HEADER;
const VERSION_OFFSET = PAGE_HEADER + 4;
/** The free database's `md_pad`, where LMDB keeps the page size. */
const PAGE_SIZE_OFFSET = PAGE_HEADER + 24;
/** A database record (`MDB_db`) is 48 bytes; its root page number is its last 8. */
const DB_RECORD = 48;
const ROOT_IN_RECORD = 40;
/** The free-page database's record, then the main database's. */
const DB_RECORDS_OFFSET = PAGE_HEADER + 24;
/** After magic, version, address, map size and the two database records. */
const LAST_PAGE_OFFSET = DB_RECORDS_OFFSET + 2 * DB_RECORD;
const META_BYTES = LAST_PAGE_OFFSET + 16;
/** The root of an empty database (`P_INVALID`). */
const NO_ROOT = 2n ** 64n - 1n;

/** Stamps an LMDB file (and shows a byte-order mismatch). */
export const LMDB_MAGIC = 0xbeefc0de;
/**
 * The data format version lmdb-js 3 writes and reads. LMDB 0.9 releases,
 * and lmdb-js built with `LMDB_DATA_V1`, write version 1, which this lmdb
 * cannot read (it crashes on it rather than refusing it).
 */
export const LMDB_DATA_VERSION = 2;
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 65_536;

/** What {@link checkDataFile} found. */
export type DataFileState = 'missing' | 'empty' | 'valid';

/**
 * Checks that `file` looks like an LMDB data file that lmdb-js can map: both
 * meta pages carry the magic and the data version, name a sane page size,
 * and the file reaches the root pages of the databases they name (every
 * commit writes those). Not the last page they name: LMDB may count pages
 * past the end of the file when they are free, and a crash can leave a
 * sound file so. It does not read the B-trees: a truncation that spares the
 * roots, or corruption inside the pages, is not seen (see the README).
 *
 * @returns `missing` when there is no file, `empty` for a file of 0 bytes
 *   (what a crash before LMDB's first write leaves; LMDB starts it afresh)
 * @throws Error saying what is wrong with the file; the caller names the store.
 */
export function checkDataFile(file: string): DataFileState {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 'empty';
    const first = readMeta(fd, 0, size, 'first');
    const second = readMeta(fd, first.pageSize, size, 'second');
    if (second.pageSize !== first.pageSize) {
      throw new Error(
        `its meta pages disagree on the page size (${first.pageSize} and ${second.pageSize})`,
      );
    }
    const root = Math.max(first.highestRoot, second.highestRoot);
    const needed = (root + 1) * first.pageSize;
    if (size < needed) {
      throw new Error(
        `it is truncated: its meta pages name page ${root} of ${first.pageSize} bytes as a database root, so it needs at least ${needed} bytes, but it has ${size}`,
      );
    }
    return 'valid';
  } finally {
    closeSync(fd);
  }
}

interface Meta {
  pageSize: number;
  /** The highest root page of its free-page and main databases (0 when both are empty). */
  highestRoot: number;
}

function readMeta(fd: number, offset: number, size: number, which: string): Meta {
  if (size < offset + META_BYTES) {
    throw new Error(
      `it is truncated or not an LMDB file: ${size} bytes do not hold its ${which} meta page`,
    );
  }
  const page = Buffer.alloc(META_BYTES);
  readSync(fd, page, 0, META_BYTES, offset);
  const magic = page.readUInt32LE(MAGIC_OFFSET);
  if ((page.readUInt16LE(FLAGS_OFFSET) & P_META) === 0 || magic !== LMDB_MAGIC) {
    throw new Error(`it is not an LMDB file: its ${which} meta page has no LMDB magic number`);
  }
  // LMDB compares the low 16 bits; the high ones carry flags.
  const version = page.readUInt32LE(VERSION_OFFSET) & 0xffff;
  if (version !== LMDB_DATA_VERSION) {
    throw new Error(
      `it is LMDB data format version ${version}, and the installed lmdb reads version ${LMDB_DATA_VERSION} only`,
    );
  }
  const pageSize = page.readUInt32LE(PAGE_SIZE_OFFSET);
  if (!isPowerOfTwo(pageSize) || pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE) {
    throw new Error(`its ${which} meta page names an impossible page size (${pageSize})`);
  }
  const lastPage = Number(page.readBigUInt64LE(LAST_PAGE_OFFSET));
  if (!Number.isSafeInteger(lastPage) || lastPage < 1) {
    throw new Error(`its ${which} meta page names an impossible last page (${lastPage})`);
  }
  let highestRoot = 0;
  for (const record of [0, 1]) {
    const root = page.readBigUInt64LE(DB_RECORDS_OFFSET + record * DB_RECORD + ROOT_IN_RECORD);
    if (root === NO_ROOT) continue;
    if (root < 2n || root > BigInt(lastPage)) {
      throw new Error(`its ${which} meta page names an impossible root page (${root})`);
    }
    highestRoot = Math.max(highestRoot, Number(root));
  }
  return { pageSize, highestRoot };
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
