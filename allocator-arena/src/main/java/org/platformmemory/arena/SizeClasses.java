package org.platformmemory.arena;

/**
 * The small size classes: 16-byte steps up to 128 bytes, then four classes per doubling up to
 * {@link #SMALL_MAX}. Rounding a request up to its class wastes at most 20% beyond 128 bytes.
 *
 * <p>Every class of {@code 2^k} bytes or more is a multiple of {@code 2^(k-2)}, and blocks sit at
 * multiples of their class size from a page-aligned slab, so an aligned request is served by the first
 * class at least as large whose size is a multiple of the alignment.
 */
final class SizeClasses {

    /** The largest small request; anything above is carved in whole pages. */
    static final int SMALL_MAX = 32 * 1024;
    /** The number of small classes. */
    static final int COUNT = 40;
    /** The page: the unit chunks are carved in, and the largest alignment a chunk serves. */
    static final int PAGE_SHIFT = 12;
    static final int PAGE = 1 << PAGE_SHIFT;

    private static final int[] SIZES = new int[COUNT];

    static {
        for (int i = 0; i < 8; i++) {
            SIZES[i] = (i + 1) * 16;
        }
        for (int i = 8; i < COUNT; i++) {
            int log2 = 7 + (i - 8) / 4;
            int step = 1 << (log2 - 2);
            SIZES[i] = (1 << log2) + ((i - 8) % 4 + 1) * step;
        }
    }

    private SizeClasses() {
    }

    /** The class of a request of {@code size} bytes, {@code 1..SMALL_MAX}, at 16-byte alignment. */
    static int classOf(long size) {
        if (size <= 128) {
            return (int) ((size - 1) >>> 4);
        }
        long s = size - 1;
        int log2 = 63 - Long.numberOfLeadingZeros(s);
        return 8 + (log2 - 7) * 4 + (int) ((s >>> (log2 - 2)) & 3);
    }

    /**
     * The class of a request of {@code size} bytes at {@code alignment} (a power of two), or -1 when no
     * small class serves it.
     */
    static int classOf(long size, long alignment) {
        if (alignment > PAGE) {
            return -1;
        }
        long rounded = (size + alignment - 1) & -alignment;
        if (rounded > SMALL_MAX) {
            return -1;
        }
        int c = classOf(rounded);
        while (c < COUNT && SIZES[c] % alignment != 0) {
            c++;
        }
        return c < COUNT ? c : -1;
    }

    /** The block size of class {@code c}. */
    static int sizeOf(int c) {
        return SIZES[c];
    }

    /** How many pages a slab of class {@code c} spans: at least 16 KiB and at least eight blocks. */
    static int slabPages(int c) {
        long bytes = Math.max(16 * 1024, 8L * SIZES[c]);
        return (int) ((bytes + PAGE - 1) >>> PAGE_SHIFT);
    }
}
