package org.platformmemory.api.kit;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Raw access to native memory by address, without allocating: one segment spanning the address space,
 * created once, shared by the facade and the backends.
 *
 * <p>Thread-safe (stateless), with plain (non-volatile) memory accesses. Nothing is checked: callers
 * guarantee that every address they pass lies in memory they own, and a wrong one crashes the JVM or
 * corrupts another block. Needs native access enabled for the module (the segment is restricted).
 */
public final class NativeMemory {

    /** Every address from 0 to {@code Long.MAX_VALUE}; restricted, so it needs native access enabled. */
    public static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    private NativeMemory() {
    }

    /** The 8 bytes at {@code address}, which need not be aligned. */
    public static long getLong(long address) {
        return EVERYTHING.get(LONG, address);
    }

    /** Writes {@code value} to the 8 bytes at {@code address}, which need not be aligned. */
    public static void putLong(long address, long value) {
        EVERYTHING.set(LONG, address, value);
    }

    /** The byte at {@code address}. */
    public static byte getByte(long address) {
        return EVERYTHING.get(BYTE, address);
    }

    /** Writes {@code value} to the byte at {@code address}. */
    public static void putByte(long address, byte value) {
        EVERYTHING.set(BYTE, address, value);
    }

    /** Sets {@code length} bytes at {@code address} to {@code value}; a length of 0 (or less) writes nothing. */
    public static void fill(long address, long length, byte value) {
        if (length <= 256) {
            // small blocks word by word: no slice object, so no Java-heap allocation even before the
            // JIT has compiled the caller and can scalar-replace one
            long pattern = (value & 0xFFL) * 0x0101010101010101L;
            long i = 0;
            for (; i + 8 <= length; i += 8) {
                EVERYTHING.set(LONG, address + i, pattern);
            }
            for (; i < length; i++) {
                EVERYTHING.set(BYTE, address + i, value);
            }
        } else {
            EVERYTHING.asSlice(address, length).fill(value);
        }
    }

    /** Copies {@code length} bytes from {@code from} to {@code to}; the ranges may overlap; 0 copies nothing. */
    public static void copy(long from, long to, long length) {
        if (length > 0) {
            MemorySegment.copy(EVERYTHING, from, EVERYTHING, to, length);
        }
    }

    /**
     * The offset of the first byte in {@code [address, address+length)} that is not {@code value}, or -1
     * when every byte is (always for a length of 0).
     */
    public static long mismatch(long address, long length, byte value) {
        long i = 0;
        long pattern = (value & 0xFFL) * 0x0101010101010101L;
        for (; i + 8 <= length; i += 8) {
            if (getLong(address + i) != pattern) {
                break;
            }
        }
        for (; i < length; i++) {
            if (getByte(address + i) != value) {
                return i;
            }
        }
        return -1;
    }
}
