package org.platformmemory.netty;

/**
 * The size classes of cached buffers: multiples of 16 up to 128 bytes, then four classes per doubling
 * (as jemalloc and Netty space theirs) up to {@link #MAX} bytes. A buffer taken for a class has exactly
 * the class's capacity, so it can serve any later block of that class.
 */
final class BlockClasses {

    /** The largest capacity a cached buffer has: Netty's own limit for thread-cached buffers. */
    static final int MAX = 32 * 1024;
    /** Classes from 16 bytes to {@link #MAX}. */
    static final int COUNT = 40;

    private BlockClasses() {
    }

    /** The class of a buffer of {@code capacity} bytes, {@code 1..MAX}. */
    static int of(int capacity) {
        if (capacity <= 128) {
            return ((capacity + 15) >>> 4) - 1;
        }
        int k = 31 - Integer.numberOfLeadingZeros(capacity - 1); // 2^k < capacity <= 2^(k+1)
        int quarter = (capacity - 1) >>> (k - 2); // 4..7
        return 8 + ((k - 7) << 2) + quarter - 4;
    }

    /** The capacity of class {@code sizeClass}: the largest block it holds. */
    static int capacity(int sizeClass) {
        if (sizeClass < 8) {
            return (sizeClass + 1) << 4;
        }
        int group = (sizeClass - 8) >>> 2;
        return (4 + ((sizeClass - 8) & 3) + 1) << (5 + group);
    }
}
