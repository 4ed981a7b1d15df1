package org.platformmemory.api.contract;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Fills blocks with a pattern derived from a seed and checks it, so tests see any byte that changed. */
public final class BlockPattern {

    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private BlockPattern() {
    }

    /** The byte at {@code offset} of a block filled with {@code seed}. */
    public static byte byteAt(long seed, long offset) {
        long h = (seed + offset) * 0x9E3779B97F4A7C15L;
        return (byte) (h >>> 56);
    }

    /** Fills {@code size} bytes at {@code address}; large blocks get the pattern at both ends and a constant between. */
    public static void fill(long address, long size, long seed) {
        MemorySegment block = EVERYTHING.asSlice(address, size);
        if (size <= 8192) {
            for (long i = 0; i < size; i++) {
                block.set(ValueLayout.JAVA_BYTE, i, byteAt(seed, i));
            }
        } else {
            block.fill(byteAt(seed, -1));
            for (long i = 0; i < 4096; i++) {
                block.set(ValueLayout.JAVA_BYTE, i, byteAt(seed, i));
                block.set(ValueLayout.JAVA_BYTE, size - 1 - i, byteAt(seed, size - 1 - i));
            }
        }
    }

    /** Whether the first {@code size} bytes at {@code address} still hold what {@link #fill} wrote for a block of {@code filledSize}. */
    public static boolean holds(long address, long size, long filledSize, long seed) {
        return holdsRange(address, 0, size, filledSize, seed);
    }

    /** Whether bytes {@code [from, to)} of the block at {@code address} hold what {@link #fill} wrote for a block of {@code filledSize}. */
    public static boolean holdsRange(long address, long from, long to, long filledSize, long seed) {
        MemorySegment block = EVERYTHING.asSlice(address, to);
        byte middle = byteAt(seed, -1);
        for (long i = from; i < to; i++) {
            byte expected = filledSize <= 8192 || i < 4096 || i >= filledSize - 4096 ? byteAt(seed, i) : middle;
            if (block.get(ValueLayout.JAVA_BYTE, i) != expected) {
                return false;
            }
        }
        return true;
    }

    /** Whether the block holds its whole pattern. */
    public static boolean holds(long address, long size, long seed) {
        return holds(address, size, size, seed);
    }

    /** Whether {@code size} bytes at {@code address} are all {@code value}. */
    public static boolean allBytes(long address, long size, byte value) {
        MemorySegment block = EVERYTHING.asSlice(address, size);
        for (long i = 0; i < size; i++) {
            if (block.get(ValueLayout.JAVA_BYTE, i) != value) {
                return false;
            }
        }
        return true;
    }

    /** Writes one byte (to damage guards in tests). */
    public static void poke(long address, byte value) {
        EVERYTHING.set(ValueLayout.JAVA_BYTE, address, value);
    }
}
