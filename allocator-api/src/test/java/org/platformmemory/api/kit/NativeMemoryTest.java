package org.platformmemory.api.kit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class NativeMemoryTest {

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment segment = arena.allocate(1024, 16);
    private final long base = segment.address();

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void shouldReadWhatItWroteAtAnyAlignment() {
        NativeMemory.putLong(base + 3, 0x0102030405060708L);
        assertEquals(0x0102030405060708L, NativeMemory.getLong(base + 3));
        assertEquals(0x0102030405060708L, segment.get(ValueLayout.JAVA_LONG_UNALIGNED, 3));
        NativeMemory.putByte(base + 100, (byte) 0x5A);
        assertEquals((byte) 0x5A, NativeMemory.getByte(base + 100));
    }

    @Test
    void shouldFillExactlyTheRangeGivenSmallOrLarge() {
        for (long length : new long[] {0, 1, 7, 8, 13, 256, 257, 900}) {
            segment.fill((byte) 0);
            NativeMemory.fill(base + 5, length, (byte) 0xC3);
            assertEquals(-1, NativeMemory.mismatch(base + 5, length, (byte) 0xC3), "length " + length);
            assertEquals(0, segment.get(ValueLayout.JAVA_BYTE, 4), "the byte before, length " + length);
            assertEquals(0, segment.get(ValueLayout.JAVA_BYTE, 5 + length), "the byte after, length " + length);
        }
    }

    @Test
    void shouldFindTheFirstByteThatDiffers() {
        NativeMemory.fill(base, 100, (byte) 7);
        NativeMemory.putByte(base + 41, (byte) 8);
        assertEquals(41, NativeMemory.mismatch(base, 100, (byte) 7));
        assertEquals(-1, NativeMemory.mismatch(base, 41, (byte) 7));
        assertEquals(-1, NativeMemory.mismatch(base, 0, (byte) 9), "an empty range has no mismatch");
    }

    @Test
    void shouldCopyOverlappingRangesAsIfThroughABuffer() {
        for (int i = 0; i < 64; i++) {
            NativeMemory.putByte(base + i, (byte) i);
        }
        NativeMemory.copy(base, base + 8, 32);
        for (int i = 0; i < 32; i++) {
            assertEquals((byte) i, NativeMemory.getByte(base + 8 + i), "byte " + i);
        }
        NativeMemory.copy(base + 8, base, 0);
        assertEquals((byte) 0, NativeMemory.getByte(base), "a length of 0 copies nothing");
    }

    @Test
    void shouldReadCheckedWhatIsThereAndNothingWhereNothingCanBeRead() {
        NativeMemory.putLong(base + 16, 0x1122334455667788L);
        NativeMemory.putLong(base + 24, -5L);
        assertArrayEquals(new long[] {0x1122334455667788L, -5L}, NativeMemory.readChecked(base + 16, 2));
        assertNull(NativeMemory.readChecked(0x10, 1), "page zero is never mapped: a plain read would crash the JVM");
        assertNull(NativeMemory.readChecked(0x7f00_dead_bee0L, 2), "unmapped");
        assertNull(NativeMemory.readChecked(-16, 1), "not an address");
    }
}
