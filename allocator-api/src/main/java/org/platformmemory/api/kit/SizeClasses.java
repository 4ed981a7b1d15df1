package org.platformmemory.api.kit;

import java.util.Arrays;

/**
 * The block sizes small requests are rounded up to, and the constant-time map from a request to its
 * class.
 *
 * <p>Classes are multiples of {@link #QUANTUM} bytes spaced geometrically: every power of two from 16
 * up is split into {@code perDoubling} equal steps (with 4: 16, 32, ..., 128, 160, 192, 224, 256, 320,
 * ...), so rounding never wastes more than {@code 1/perDoubling} of a block beyond the 16-byte steps.
 * The largest class is exactly {@code largest}. {@link #DEFAULT} (32 KiB, 4 per doubling) has 40
 * classes.
 *
 * <p>A class of {@code 2^k} bytes or more is a multiple of {@code 2^k / perDoubling}; blocks of a class
 * sit at multiples of the class size from a page-aligned base, so a request aligned beyond 16 bytes is
 * served by the first class at least as large whose size is a multiple of the alignment.
 *
 * <p>Immutable and thread-safe. The lookups allocate nothing and take no lock.
 */
public final class SizeClasses {

    /** Every class is a multiple of this, so every block of a page-aligned run is 16-byte aligned. */
    public static final int QUANTUM = 16;
    /** The largest alignment a class serves: the page that runs of blocks are aligned to. */
    public static final int MAX_ALIGNMENT = 4096;
    /** 16 bytes to 32 KiB, four classes per doubling: 40 classes. */
    public static final SizeClasses DEFAULT = new SizeClasses(32 << 10, 4);

    private static final int QUANTUM_SHIFT = 4;

    private final int[] sizes;
    private final int largest;
    // index: the size in quanta, rounded up; value: the smallest class that holds it
    private final short[] classOfQuanta;
    // classes 0..k are 16, 32, ..., this: a size up to it maps to its class by arithmetic alone
    private final long linearMax;

    /**
     * @param largest     the largest class: a multiple of 16, from 16 to 1 MiB
     * @param perDoubling classes per power of two, 1 to 16
     * @throws IllegalArgumentException when either is out of range
     */
    public SizeClasses(int largest, int perDoubling) {
        if (largest < QUANTUM || largest > 1 << 20 || largest % QUANTUM != 0 || perDoubling < 1
            || perDoubling > 16) {
            throw new IllegalArgumentException("largest=" + largest + ", perDoubling=" + perDoubling);
        }
        int[] built = new int[largest / QUANTUM];
        int count = 0;
        int size = QUANTUM;
        while (size < largest) {
            built[count++] = size;
            int step = Math.max(QUANTUM, Integer.highestOneBit(size) / perDoubling);
            // the next multiple of the step, kept a multiple of 16 when the step is not one (perDoubling 3)
            size = ((size / step + 1) * step + QUANTUM - 1) & -QUANTUM;
        }
        built[count++] = largest;
        this.sizes = Arrays.copyOf(built, count);
        this.largest = largest;
        int linear = 0;
        while (linear < sizes.length && sizes[linear] == (linear + 1) * QUANTUM) {
            linear++;
        }
        this.linearMax = (long) linear * QUANTUM;
        this.classOfQuanta = new short[largest / QUANTUM + 1];
        int c = 0;
        for (int q = 0; q < classOfQuanta.length; q++) {
            while (sizes[c] < q * QUANTUM) {
                c++;
            }
            classOfQuanta[q] = (short) c;
        }
    }

    /** How many classes there are; classes are numbered {@code 0..count()-1}, smallest first. */
    public int count() {
        return sizes.length;
    }

    /** The block size of class {@code sizeClass}, which must be in {@code 0..count()-1}. */
    public int size(int sizeClass) {
        return sizes[sizeClass];
    }

    /**
     * How many blocks a thread's stack of each class may hold ({@link ThreadStacks}): at most
     * {@code maxBlocks} and about {@code maxBytes} bytes of the class, but at least {@code minBlocks};
     * all 0 when {@code maxBlocks} is 0 (no stacks).
     */
    public int[] stackCapacities(int minBlocks, int maxBlocks, long maxBytes) {
        if (minBlocks < 0 || maxBlocks < 0 || maxBytes < 0) {
            throw new IllegalArgumentException("stack capacities: " + minBlocks + ", " + maxBlocks + ", " + maxBytes);
        }
        int[] capacity = new int[sizes.length];
        for (int c = 0; maxBlocks > 0 && c < capacity.length; c++) {
            capacity[c] = (int) Math.max(minBlocks, Math.min(maxBlocks, maxBytes / sizes[c]));
        }
        return capacity;
    }

    /** The largest class's size: larger requests have no class. */
    public int largest() {
        return largest;
    }

    /**
     * The smallest class holding {@code size} bytes at 16-byte alignment.
     *
     * @return the class, or -1 when {@code size} is negative or above {@link #largest()}; a size of 0
     *     gets class 0
     */
    public int classOf(long size) {
        // the common small sizes: no table load on the way from the size to the class (measured, issue
        // 10: the class indexes the thread's stacks, so the load lengthened every allocation's chain)
        if (size > 0 && size <= linearMax) {
            return (int) ((size - 1) >>> QUANTUM_SHIFT);
        }
        // unsigned: a negative size is huge, so one compare rejects both ends
        if (Long.compareUnsigned(size, largest) > 0) {
            return -1;
        }
        return classOfQuanta[(int) ((size + QUANTUM - 1) >>> QUANTUM_SHIFT)];
    }

    /**
     * The class whose block size is exactly {@code size}: what a backend checks when a freed block's
     * capacity may or may not be one of the classes.
     *
     * @return the class, or -1 when no class is {@code size} bytes
     */
    public int classOfExactly(long size) {
        // the linear classes by arithmetic alone, as classOf: no table load on a free's path
        if (size > 0 && size <= linearMax) {
            return (size & (QUANTUM - 1)) == 0 ? (int) (size >>> QUANTUM_SHIFT) - 1 : -1;
        }
        int c = classOf(size);
        return c >= 0 && sizes[c] == size ? c : -1;
    }

    /**
     * The smallest class holding {@code size} bytes whose size is a multiple of {@code alignment} (a
     * power of two; 16 or less means 16).
     *
     * @return the class, or -1 when none serves it: size negative or above {@link #largest()},
     *     alignment above {@link #MAX_ALIGNMENT}, or no class large enough a multiple of it
     */
    public int classOf(long size, long alignment) {
        int c = classOf(size);
        if (alignment <= QUANTUM || c < 0) {
            return c;
        }
        return alignedFrom(c, alignment);
    }

    // rare (aligned allocations): walk up to the first class that is a multiple of the alignment
    private int alignedFrom(int c, long alignment) {
        if (alignment > MAX_ALIGNMENT) {
            return -1;
        }
        while (c < sizes.length && (sizes[c] & (alignment - 1)) != 0) {
            c++;
        }
        return c < sizes.length ? c : -1;
    }

    /** The class sizes, smallest first, e.g. {@code [16, 32, ..., 32768]}. */
    @Override
    public String toString() {
        return Arrays.toString(sizes);
    }
}
