package org.platformmemory.api.internal;

import org.platformmemory.api.Tracking;
import org.platformmemory.api.kit.NativeMemory;

/**
 * The layout of the facade's bookkeeping around a block, for one tracking mode:
 *
 * <pre>
 *   [record 16: leaks, debug] [core 16] [front guard 16: debug] block... [back guard 16: debug]
 * </pre>
 *
 * The record holds the allocation site (32 bits, a {@link SiteTable} id), the site of the free that
 * released the block ({@code debug}: read from the quarantine) and the block's allocation number (64 bits).
 *
 * The core is two words: {@code word0} = size (48 bits) | flags (8) | log2(alignment) (6), and
 * {@code word1} = a check of the address, {@code word0} and the tags (32) | allocation tag (12) | heap tag (20):
 * the {@link org.platformmemory.api.Insights} tag the block is charged to, and its private heap's. The check catches a
 * header overwritten by a write before the block. Callers read a header only for an address the
 * live-block set vouches for, so every address here is one of ours.
 */
public final class BlockHeader {

    /** Bits of the heap tag in {@code word1} ({@link HeapRegistry}); the allocation tag is above it. */
    public static final int HEAP_TAG_BITS = 20;
    private static final int HEAP_TAG_MASK = (1 << HEAP_TAG_BITS) - 1;

    /** The mask of the size in {@code word0}. */
    public static final long SIZE_MASK = (1L << 48) - 1;
    /** Bytes of each guard in debug mode. */
    public static final int GUARD = 16;
    /** The fill of a new block in debug mode. */
    public static final byte FILL_NEW = (byte) 0xCD;
    /** The fill of a freed block in debug mode. */
    public static final byte FILL_FREED = (byte) 0xDD;
    /** The fill of the guards. */
    public static final byte FILL_GUARD = (byte) 0xFD;

    private static final int MAGIC = 0x504D454D; // "PMEM"
    private static final int FREED = 0x46524545; // "FREE": xor'd into the check of a freed block

    private final int coreOffset;
    private final int siteOffset;
    private final int headerSize;
    private final int backGuard;

    public BlockHeader(Tracking tracking) {
        boolean debug = tracking == Tracking.DEBUG;
        this.coreOffset = debug ? 32 : 16;
        this.siteOffset = coreOffset + 16;
        this.headerSize = switch (tracking) {
            case COUNTERS -> 16;
            case LEAKS -> 32;
            case DEBUG -> 48;
        };
        this.backGuard = debug ? GUARD : 0;
    }

    /** Where the caller's block starts within the backend's, for a block of {@code alignment}. */
    public long offsetFor(long alignment) {
        return (headerSize + alignment - 1) & -alignment;
    }

    /** The bytes the layout adds to a block of {@code alignment}: header, padding and back guard. */
    public long overheadFor(long alignment) {
        return offsetFor(alignment) + backGuard;
    }

    // ---- the core words ------------------------------------------------------------------------

    public long word0(long user) {
        return NativeMemory.getLong(user - coreOffset);
    }

    public static long sizeOf(long word0) {
        return word0 & SIZE_MASK;
    }

    public static int flagsOf(long word0) {
        return (int) (word0 >>> 48) & 0xFF;
    }

    public static int alignmentLog2Of(long word0) {
        return (int) (word0 >>> 56) & 0x3F;
    }

    /** The size of the block at {@code user}. */
    public long size(long user) {
        return sizeOf(word0(user));
    }

    /** The heap tag of the block at {@code user} (0 for none). */
    public int heap(long user) {
        return heapOf(word1(user));
    }

    /** The allocation tag ({@link TagTable}) the block at {@code user} is charged to. */
    public int tag(long user) {
        return tagOf(word1(user));
    }

    /** The second core word of the block at {@code user}: its check and its tags. */
    public long word1(long user) {
        return NativeMemory.getLong(user - coreOffset + 8);
    }

    /** The heap tag in a {@link #word1}. */
    public static int heapOf(long word1) {
        return (int) word1 & HEAP_TAG_MASK;
    }

    /** The allocation tag in a {@link #word1}. */
    public static int tagOf(long word1) {
        return (int) word1 >>> HEAP_TAG_BITS;
    }

    /** Writes the core words of a block of heap tag {@code heap} charged to allocation tag {@code tag}. */
    public void write(long user, long size, int flags, int alignmentLog2, int heap, int tag) {
        long word0 = size | (long) (flags & 0xFF) << 48 | (long) alignmentLog2 << 56;
        int tags = tag << HEAP_TAG_BITS | heap;
        NativeMemory.putLong(user - coreOffset, word0);
        NativeMemory.putLong(user - coreOffset + 8, (long) check(user, word0, tags) << 32 | (tags & 0xFFFFFFFFL));
    }

    /**
     * Whether the core words {@code word0} and {@code word1} read at {@code user} (both of them, tags
     * included) are as {@link #write} left them.
     */
    public boolean intact(long user, long word0, long word1) {
        return (int) (word1 >>> 32) == check(user, word0, (int) word1);
    }

    /**
     * Marks a block being freed, whose {@link #word1} is {@code word1}: its check becomes the freed check,
     * so a stale copy of this header never passes {@link #intact}, and a later free of the address is known
     * for a double free while the mark survives ({@link #freedAt}).
     */
    public void invalidate(long user, long word1) {
        // word1 is the block's, found intact when the block was claimed: its check is the live check
        NativeMemory.putLong(user - coreOffset + 8, word1 ^ (long) FREED << 32);
    }

    /**
     * Whether {@code address}, which nobody vouches for, carries the mark {@link #invalidate} leaves: a block
     * of ours freed there, whose header no one has written over since. Reads through
     * {@link NativeMemory#readChecked}, so any address is safe.
     */
    public boolean freedAt(long address) {
        if ((address & 15) != 0 || address < 4096) {
            return false;
        }
        long[] core = NativeMemory.readChecked(address - coreOffset, 2);
        return core != null && (int) (core[1] >>> 32) == (check(address, core[0], (int) core[1]) ^ FREED);
    }

    private static int check(long user, long word0, int heap) {
        long h = (user ^ word0) * 0x9E3779B97F4A7C15L;
        h = (h ^ (heap & 0xFFFFFFFFL)) * 0xC2B2AE3D27D4EB4FL;
        return (int) (h >>> 32) ^ MAGIC;
    }

    // ---- the record (leaks and debug) ----------------------------------------------------------

    /** Writes a new block's record: its allocation site and number, no free site yet. */
    public void writeRecord(long user, int site, long number) {
        NativeMemory.putLong(user - siteOffset, site & 0xFFFFFFFFL);
        NativeMemory.putLong(user - siteOffset + 8, number);
    }

    /** The allocation site of the block at {@code user}. */
    public int site(long user) {
        return (int) NativeMemory.getLong(user - siteOffset);
    }

    /** The site of the free that released the block at {@code user} ({@link SiteTable#NONE} while live). */
    public int freeSite(long user) {
        return (int) (NativeMemory.getLong(user - siteOffset) >>> 32);
    }

    /** Records where the block at {@code user} is being freed. */
    public void writeFreeSite(long user, int site) {
        long sites = NativeMemory.getLong(user - siteOffset);
        NativeMemory.putLong(user - siteOffset, (sites & 0xFFFFFFFFL) | (long) site << 32);
    }

    /** The allocation number of the block at {@code user}: 1 for the facade's first, in order. */
    public long number(long user) {
        return NativeMemory.getLong(user - siteOffset + 8);
    }

    // ---- guards and fills (debug) ----------------------------------------------------------------

    public void writeGuards(long user, long size) {
        NativeMemory.fill(user - GUARD, GUARD, FILL_GUARD);
        NativeMemory.fill(user + size, GUARD, FILL_GUARD);
    }

    /** The offset of the first damaged byte of the front guard, or -1. */
    public long frontDamage(long user) {
        return NativeMemory.mismatch(user - GUARD, GUARD, FILL_GUARD);
    }

    /** The offset of the first damaged byte of the back guard, or -1. */
    public long backDamage(long user, long size) {
        return NativeMemory.mismatch(user + size, GUARD, FILL_GUARD);
    }

    /** Fills a freed block and its guards with {@link #FILL_FREED}. */
    public void fillFreed(long user, long size) {
        NativeMemory.fill(user - GUARD, size + 2L * GUARD, FILL_FREED);
    }
}
