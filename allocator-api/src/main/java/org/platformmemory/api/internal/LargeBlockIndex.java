package org.platformmemory.api.internal;

import java.util.Arrays;

/**
 * The starts of live blocks of {@link #SMALLEST} bytes or more, found from any address inside them in a
 * bounded number of steps, with no object per block: {@link LiveBlockSet}'s answer to "which block
 * holds this address?" for blocks too large to find by probing back 16 bytes at a time.
 *
 * <p>A block of size {@code 2^s .. 2^(s+3)} (s = 12, 15, 18 ... 39) is filed on level s under the
 * {@code 2^s}-byte region its start lies in. Blocks never overlap, so at most one block of a level
 * starts in any of its regions, and the start of a block of that level holding an address lies at most
 * 8 regions before it: {@link #nearestStart} looks at 9 regions per level that has any block, 90 lookups
 * at most, whatever the number of blocks. (Blocks of 4 TiB or more are not filed.) Levels three powers
 * of two apart rather than six: a question asks every stripe's index, and a program's large blocks
 * mostly lie on two or three levels, so 9 lookups a level instead of 65 keep the question cheap with
 * many stripes (0.1 ms with 128 stripes and 100,000 blocks of 8 KiB to 1 MiB, measured at six apart).
 *
 * <p>An open-addressing table of {@code long}s. Not thread-safe: {@link LiveBlockSet} keeps one per stripe,
 * guarded by that stripe's lock, which the block's add and remove hold anyway (one shared index under a
 * monitor of its own was a fifth of a 1 MiB allocate+free through the C ABI under C1). A question then
 * asks every stripe's index; levels with nothing filed are skipped.
 */
final class LargeBlockIndex {

    /** The smallest block filed. */
    static final long SMALLEST = 1L << 12;
    private static final int FIRST_SHIFT = 12;
    private static final int SHIFT_STEP = 3;
    private static final int LEVELS = 10;
    /** The bits of a key that hold its level. */
    private static final int LEVEL_BITS = 4;
    private static final int REGIONS_BACK = 1 << SHIFT_STEP;

    private long[] keys = new long[64];
    private long[] starts = new long[64];
    private int size;
    /** How many blocks are filed on each level. */
    private final int[] filed = new int[LEVELS];

    /** The level of a block of {@code size} bytes, or -1 when it is not filed. */
    private static int levelOf(long size) {
        if (size < SMALLEST) {
            return -1;
        }
        int level = (63 - Long.numberOfLeadingZeros(size) - FIRST_SHIFT) / SHIFT_STEP;
        return level < LEVELS ? level : -1;
    }

    private static int shiftOf(int level) {
        return FIRST_SHIFT + level * SHIFT_STEP;
    }

    /** The key of region {@code region} of {@code level}: never 0. */
    private static long key(int level, long region) {
        return (region << LEVEL_BITS | level) + 1;
    }

    private static int levelOfKey(long key) {
        return (int) ((key - 1) & ((1 << LEVEL_BITS) - 1));
    }

    private static int home(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** Files a live block that starts at {@code start} and has {@code size} bytes. */
    void add(long start, long bytes) {
        int level = levelOf(bytes);
        if (level < 0) {
            return;
        }
        if (2 * (size + 1) > keys.length) {
            grow();
        }
        put(key(level, start >>> shiftOf(level)), start);
    }

    /** Forgets the block at {@code start} of {@code size} bytes (as it was filed). */
    void remove(long start, long bytes) {
        int level = levelOf(bytes);
        if (level < 0) {
            return;
        }
        long key = key(level, start >>> shiftOf(level));
        int mask = keys.length - 1;
        for (int i = home(key, mask); keys[i] != 0; i = (i + 1) & mask) {
            if (keys[i] == key) {
                if (starts[i] == start) {
                    delete(i);
                }
                return;
            }
        }
    }

    /** Whether nothing is filed. */
    boolean isEmpty() {
        return size == 0;
    }

    /**
     * The nearest filed start before {@code address} on each level that has any, lowest level first,
     * handed to {@code candidate} until it answers true: that start, or 0 when none does.
     */
    long holderOf(long address, Candidate candidate) {
        for (int level = 0; level < LEVELS; level++) {
            if (filed[level] > 0) {
                long start = nearestStart(level, address);
                if (start != 0 && candidate.holds(start)) {
                    return start;
                }
            }
        }
        return 0;
    }

    /** Decides whether the block at a start holds the address being looked up. */
    @FunctionalInterface
    interface Candidate {
        boolean holds(long start);
    }

    private long nearestStart(int level, long address) {
        int shift = shiftOf(level);
        long region = (address - 1) >>> shift;
        for (int back = 0; back <= REGIONS_BACK && region - back >= 0; back++) {
            long start = find(key(level, region - back));
            if (start != 0 && start < address) {
                return start;
            }
        }
        return 0;
    }

    private long find(long key) {
        int mask = keys.length - 1;
        for (int i = home(key, mask); keys[i] != 0; i = (i + 1) & mask) {
            if (keys[i] == key) {
                return starts[i];
            }
        }
        return 0;
    }

    private void put(long key, long start) {
        int mask = keys.length - 1;
        int i = home(key, mask);
        while (keys[i] != 0 && keys[i] != key) {
            i = (i + 1) & mask;
        }
        if (keys[i] == 0) {
            size++;
            filed[levelOfKey(key)]++;
        }
        keys[i] = key;
        starts[i] = start;
    }

    /** Removes slot {@code i}, moving later entries of its probe run back (no tombstones). */
    private void delete(int i) {
        int mask = keys.length - 1;
        filed[levelOfKey(keys[i])]--;
        keys[i] = 0;
        starts[i] = 0;
        size--;
        for (int j = (i + 1) & mask; keys[j] != 0; j = (j + 1) & mask) {
            int h = home(keys[j], mask);
            // move j back to i if its home is not in (i, j] (cyclically)
            if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
                keys[i] = keys[j];
                starts[i] = starts[j];
                keys[j] = 0;
                starts[j] = 0;
                i = j;
            }
        }
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldStarts = starts;
        keys = new long[oldKeys.length * 2];
        starts = new long[oldKeys.length * 2];
        size = 0;
        Arrays.fill(filed, 0);
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != 0) {
                put(oldKeys[i], oldStarts[i]);
            }
        }
    }
}
