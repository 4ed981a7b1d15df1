package org.platformmemory.agrona;

import java.util.Arrays;

/**
 * The slot sizes slabs are cut into, and the constant-time map from a request to its class.
 *
 * <p>Classes are multiples of 16 bytes, spaced geometrically: every power of two from 16 up is split
 * into {@code perDoubling} equal steps (with 4: 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, ...), so
 * a block never wastes more than {@code 1/perDoubling} of its slot to rounding. The largest class is
 * exactly {@code largest}. Immutable and thread-safe.
 */
final class SizeClasses {

    /** Every slot size is a multiple of this, so every slot of a page-aligned slab is 16-byte aligned. */
    static final int QUANTUM = 16;

    private final int[] sizes;
    // index: (size + 15) / 16, value: the smallest class that holds it
    private final short[] classOfQuanta;

    /**
     * @param largest     the largest slot size: a multiple of 16, at least 16
     * @param perDoubling classes per power of two, 1 to 16
     */
    SizeClasses(int largest, int perDoubling) {
        if (largest < QUANTUM || largest % QUANTUM != 0 || perDoubling < 1 || perDoubling > 16) {
            throw new IllegalArgumentException("largest=" + largest + ", perDoubling=" + perDoubling);
        }
        int[] built = new int[1024];
        int count = 0;
        int size = QUANTUM;
        while (size < largest) {
            built[count++] = size;
            int powerOfTwo = Integer.highestOneBit(size);
            int step = Math.max(QUANTUM, powerOfTwo / perDoubling);
            size = (size + step) / step * step;
            size = (size + QUANTUM - 1) / QUANTUM * QUANTUM;
        }
        built[count++] = largest;
        this.sizes = Arrays.copyOf(built, count);
        this.classOfQuanta = new short[largest / QUANTUM + 1];
        int c = 0;
        for (int q = 0; q < classOfQuanta.length; q++) {
            while (sizes[c] < q * QUANTUM) {
                c++;
            }
            classOfQuanta[q] = (short) c;
        }
    }

    /** How many classes there are. */
    int count() {
        return sizes.length;
    }

    /** The slot size of class {@code index}. */
    int size(int index) {
        return sizes[index];
    }

    /** The largest slot size; larger requests get blocks of their own. */
    int largest() {
        return sizes[sizes.length - 1];
    }

    /**
     * The class for a block of {@code size} bytes aligned to {@code alignment}: the smallest slot size
     * that holds it and is a multiple of the alignment (slabs are page-aligned, so such a slot is aligned).
     *
     * @return the class index, or -1 when no class fits and the block needs a buffer of its own
     */
    int classFor(long size, long alignment) {
        if (size > largest() || alignment > Slab.PAGE) {
            return -1;
        }
        int index = classOfQuanta[(int) ((size + QUANTUM - 1) >>> 4)];
        if (alignment > QUANTUM) {
            // rare: Platform_AllocAligned; walk up to the first class that is a multiple of the alignment
            while (index < sizes.length && (sizes[index] & (alignment - 1)) != 0) {
                index++;
            }
            return index < sizes.length ? index : -1;
        }
        return index;
    }

    @Override
    public String toString() {
        return Arrays.toString(sizes);
    }
}
