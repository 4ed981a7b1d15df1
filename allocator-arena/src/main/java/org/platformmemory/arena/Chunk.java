package org.platformmemory.arena;

import java.lang.foreign.MemorySegment;

import org.platformmemory.api.kit.Pages;

/**
 * One large piece of native memory, a mapping of its own from the system ({@link Pages}), carved into
 * pages: each page is free, part of a {@link Slab} of small blocks, or part of a run given out whole. A
 * huge chunk holds exactly one block and has no page map.
 *
 * <p>A new chunk reads as zero and none of it is resident: its pages become resident as blocks in them
 * are first written, so the memory a program holds follows what it touches, and a huge block costs a
 * mapping, not a pass over its bytes.
 *
 * <p>Not thread-safe: its {@link PageHeap} guards the page map with its lock. {@link #slabAt} is read
 * under a size-class lock; a page's slab is written before any block of that slab is handed out and
 * cleared only once every block of it is back, so those reads never race with the writes.
 */
final class Chunk {

    /** The page: the unit chunks are carved in, and the largest alignment a chunk serves. */
    static final int PAGE_SHIFT = 12;
    static final int PAGE = 1 << PAGE_SHIFT;

    /** The chunk's bytes, for the slabs' free lists; it outlives the mapping, so only live chunks use it. */
    final MemorySegment segment;
    final long base;
    final long size;
    final boolean huge;

    /** Whether this chunk holds slabs or page runs; it changes only while the chunk is empty. */
    boolean forSlabs;

    /** Whether every byte still reads as zero: a new mapping, or a huge one discarded; cleared once handed out. */
    boolean fresh = true;

    private boolean mapped = true;
    private final int pages;
    private final long[] used;
    private final Slab[] slabs;
    private int usedPages;
    // at least the longest run of free pages: exact after a full best-fit scan, loosened by every give
    private int longestRunBound;

    private Chunk(long base, long size, boolean huge) {
        this.segment = MemorySegment.ofAddress(base).reinterpret(size);
        this.base = base;
        this.size = size;
        this.huge = huge;
        this.pages = huge ? 0 : (int) (size >>> PAGE_SHIFT);
        this.used = huge ? null : new long[(pages + 63) >>> 6];
        this.slabs = huge ? null : new Slab[pages];
        this.longestRunBound = pages;
    }

    /**
     * A page-aligned chunk of {@code size} bytes (a multiple of 64 pages), or {@code null} when the
     * memory is not available.
     */
    static Chunk carve(long size) {
        return open(size, PAGE, false);
    }

    /** A chunk holding one huge block of {@code size} bytes at {@code alignment}, or {@code null}. */
    static Chunk single(long size, long alignment) {
        return open(size, alignment, true);
    }

    private static Chunk open(long size, long alignment, boolean huge) {
        long base = Pages.map(size, alignment);
        return base == 0 ? null : new Chunk(base, Pages.roundUp(size), huge);
    }

    /** Gives the chunk's memory back to the system; every block in it is gone. Once only. */
    void release() {
        if (mapped) {
            mapped = false;
            Pages.unmap(base, size);
        }
    }

    /** Whether {@link #release} has not been called yet. */
    boolean isMapped() {
        return mapped;
    }

    /** Gives every page back to the system but keeps the mapping: it reads as zero and holds nothing again. */
    void discard() {
        Pages.discard(base, size);
        fresh = true;
    }

    /**
     * Gives the pages of every free run back to the system (they read as zero when next used); the
     * used pages, slabs and runs, keep their bytes. For a trim of a chunk that is not empty.
     */
    void discardFreePages() {
        for (int page = 0; page < pages;) {
            int first = nextFree(page);
            if (first < 0) {
                break;
            }
            int taken = nextUsed(first, pages);
            int end = taken < 0 ? pages : taken;
            Pages.discard(base + ((long) first << PAGE_SHIFT), (long) (end - first) << PAGE_SHIFT);
            page = end;
        }
    }

    /** The bytes of this chunk resident now, or -1 when the system cannot say. */
    long resident() {
        return Pages.resident(base, size);
    }

    /** Whether {@code address} lies in this chunk. */
    boolean contains(long address) {
        return address - base >= 0 && address - base < size;
    }

    int usedPages() {
        return usedPages;
    }

    int freePages() {
        return pages - usedPages;
    }

    /** Marks the first run of {@code count} free pages used; returns its first page, or -1. */
    int takePages(int count) {
        int start = findRun(count);
        if (start >= 0) {
            mark(start, count, true);
            usedPages += count;
        }
        return start;
    }

    /** The first page of the first run of {@code count} free pages, or -1. */
    int findRun(int count) {
        if (count > pages - usedPages) {
            return -1;
        }
        int from = 0;
        while (from + count <= pages) {
            int start = nextFree(from);
            if (start < 0 || start + count > pages) {
                return -1;
            }
            int taken = nextUsed(start, start + count);
            if (taken < 0) {
                return start;
            }
            from = taken + 1;
        }
        return -1;
    }

    /**
     * Marks the smallest run of free pages that holds {@code count} pages used (best fit, the lowest
     * such run on a tie); returns its first page, or -1.
     */
    int takeBestPages(int count) {
        int start = findBestRun(count);
        if (start >= 0) {
            mark(start, count, true);
            usedPages += count;
        }
        return start;
    }

    /** The first page of the smallest run of free pages that holds {@code count}, or -1. */
    int findBestRun(int count) {
        if (count > longestRunBound) {
            return -1;
        }
        int best = -1;
        int bestLength = Integer.MAX_VALUE;
        int longest = 0;
        int from = 0;
        while (from < pages) {
            int start = nextFree(from);
            if (start < 0) {
                break;
            }
            int end = nextUsed(start, pages);
            int length = (end < 0 ? pages : end) - start;
            longest = Math.max(longest, length);
            if (length >= count && length < bestLength) {
                best = start;
                bestLength = length;
                if (length == count) {
                    return best; // nothing fits better; the bound stays as it was
                }
            }
            if (end < 0) {
                break;
            }
            from = end + 1;
        }
        longestRunBound = longest;
        return best;
    }

    /** The length of the run of free pages starting at {@code start}. */
    int freeRunAt(int start) {
        int end = nextUsed(start, pages);
        return (end < 0 ? pages : end) - start;
    }

    /** Marks {@code count} pages from {@code first} free again. */
    void givePages(int first, int count) {
        mark(first, count, false);
        usedPages -= count;
        longestRunBound = pages - usedPages;
    }

    /** The page that {@code address} lies in. */
    int pageOf(long address) {
        return (int) ((address - base) >>> PAGE_SHIFT);
    }

    long addressOf(int page) {
        return base + ((long) page << PAGE_SHIFT);
    }

    Slab slabAt(int page) {
        return slabs[page];
    }

    void ownPages(Slab slab, int first, int count) {
        for (int i = first; i < first + count; i++) {
            slabs[i] = slab;
        }
    }

    private int nextFree(int from) {
        int w = from >>> 6;
        long bits = ~used[w] & (-1L << (from & 63));
        while (bits == 0) {
            if (++w == used.length) {
                return -1;
            }
            bits = ~used[w];
        }
        return (w << 6) + Long.numberOfTrailingZeros(bits);
    }

    /** The first used page in {@code [from, limit)}, or -1. */
    private int nextUsed(int from, int limit) {
        int w = from >>> 6;
        long bits = used[w] & (-1L << (from & 63));
        while (bits == 0) {
            if (++w << 6 >= limit) {
                return -1;
            }
            bits = used[w];
        }
        int page = (w << 6) + Long.numberOfTrailingZeros(bits);
        return page < limit ? page : -1;
    }

    /**
     * Sets or clears the bits of pages {@code first .. first + count - 1}, a word of the map at a time (a
     * 1 MiB run is five words, not 257 bits: under C1, the only compiler on a small machine, the bit loop
     * was most of an arena 1 MiB allocate+free).
     */
    private void mark(int first, int count, boolean value) {
        int end = first + count;
        for (int i = first; i < end; ) {
            int bit = i & 63;
            int n = Math.min(64 - bit, end - i);
            long mask = -1L >>> (64 - n) << bit;
            if (value) {
                used[i >>> 6] |= mask;
            } else {
                used[i >>> 6] &= ~mask;
            }
            i += n;
        }
    }
}
