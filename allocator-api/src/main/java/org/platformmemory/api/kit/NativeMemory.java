package org.platformmemory.api.kit;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Raw access to native memory by address, without allocating: one segment spanning the address space,
 * created once, shared by the facade and the backends.
 *
 * <p>Thread-safe (stateless), with plain (non-volatile) memory accesses. Nothing is checked: callers
 * guarantee that every address they pass lies in memory they own, and a wrong one crashes the JVM or
 * corrupts another block. Needs native access enabled for the module (the segment is restricted).
 * The one exception is {@link #readChecked}, for addresses nobody vouches for.
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

    /** Writes {@code values[0..count)} as 8-byte words to {@code address} onwards. */
    public static void putLongs(long address, long[] values, int count) {
        MemorySegment.copy(values, 0, EVERYTHING, LONG, address, count);
    }

    /** Reads {@code count} 8-byte words at {@code address} onwards into {@code into[0..count)}. */
    public static void getLongs(long address, long[] into, int count) {
        MemorySegment.copy(EVERYTHING, LONG, address, into, 0, count);
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
            // larger ones copied from a block of the value, which allocates nothing whatever the JIT did
            // with the caller (a slice to fill would be a Java-heap object wherever it is not scalar-replaced)
            MemorySegment pattern = pattern(value);
            for (long done = 0; done < length; done += PATTERN_BYTES) {
                MemorySegment.copy(pattern, 0, EVERYTHING, address + done, Math.min(PATTERN_BYTES, length - done));
            }
        }
    }

    private static final long PATTERN_BYTES = 4096;
    /** A block of {@link #PATTERN_BYTES} of each byte value filled so far, made on first use. */
    private static final java.util.concurrent.atomic.AtomicReferenceArray<MemorySegment> PATTERNS =
        new java.util.concurrent.atomic.AtomicReferenceArray<>(256);

    private static MemorySegment pattern(byte value) {
        MemorySegment p = PATTERNS.get(value & 0xFF);
        if (p == null) {
            MemorySegment made = java.lang.foreign.Arena.global().allocate(PATTERN_BYTES, 16).fill(value);
            p = PATTERNS.compareAndSet(value & 0xFF, null, made) ? made : PATTERNS.get(value & 0xFF);
        }
        return p;
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

    /**
     * The {@code words} 8-byte words at {@code address}, read without any risk of a fault: through the
     * process's own memory file ({@code /proc/self/mem}), which fails cleanly for an unmapped or unreadable
     * address instead of crashing. A system call: for rare questions about pointers nobody vouches for.
     *
     * @return the words, or null when any byte cannot be read (or the system offers no such file)
     */
    public static long[] readChecked(long address, int words) {
        if (address <= 0 || address > Long.MAX_VALUE - 8L * words) {
            return null;
        }
        FileChannel memory = SelfMemory.CHANNEL;
        if (memory == null) {
            return null;
        }
        ByteBuffer bytes = ByteBuffer.allocate(8 * words).order(ByteOrder.nativeOrder());
        try {
            while (bytes.hasRemaining()) {
                if (memory.read(bytes, address + bytes.position()) <= 0) {
                    return null;
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        long[] out = new long[words];
        bytes.flip().asLongBuffer().get(out);
        return out;
    }

    /** The process's memory file, opened on first use and kept; null where there is none. */
    private static final class SelfMemory {
        static final FileChannel CHANNEL = open();

        private static FileChannel open() {
            try {
                return FileChannel.open(Path.of("/proc/self/mem"), StandardOpenOption.READ);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    }
}
