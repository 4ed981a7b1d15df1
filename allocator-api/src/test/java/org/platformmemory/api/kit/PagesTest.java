package org.platformmemory.api.kit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PagesTest {

    private static final long MIB = 1 << 20;

    @Test
    void shouldMapMemoryThatIsZeroAndNotResidentUntilWritten() {
        long size = 64 * MIB;
        long base = Pages.map(size, Pages.SIZE);
        assertNotEquals(0, base);
        try {
            assertEquals(0, Pages.resident(base, size), "nothing resident before a byte is written");
            assertEquals(-1, NativeMemory.mismatch(base, 8 * MIB, (byte) 0), "reads as zero");
            Pages.touch(base, size / 2);
            long resident = Pages.resident(base, size);
            // exactly the written half: the pages read above lie in it
            assertEquals(size / 2, resident);
        } finally {
            Pages.unmap(base, size);
        }
    }

    @Test
    void shouldLinkEveryCallAheadOfNeedAndAgain() {
        Pages.link();
        Pages.link();
        long base = Pages.map(Pages.SIZE, Pages.SIZE);
        Pages.touch(base, Pages.SIZE);
        assertEquals(Pages.SIZE, Pages.resident(base, Pages.SIZE));
        assertEquals(Pages.SIZE, Pages.discard(base, Pages.SIZE), "a whole page given back");
        assertEquals(0, Pages.resident(base, Pages.SIZE));
        Pages.unmap(base, Pages.SIZE);
    }

    @Test
    void shouldZeroABlockItIsGivenAndPassAFailedAllocationThrough() {
        assertEquals(0, Pages.zeroed(0, 4096), "nothing to zero");
        long base = Pages.map(4 * MIB, Pages.SIZE);
        NativeMemory.fill(base, 4 * MIB, (byte) 9);
        assertEquals(base + 16, Pages.zeroed(base + 16, 2 * MIB), "the block it was given");
        assertEquals(-1, NativeMemory.mismatch(base + 16, 2 * MIB, (byte) 0), "zeroed over its size");
        assertEquals(-1, NativeMemory.mismatch(base, 16, (byte) 9), "nothing before it");
        assertEquals(-1, NativeMemory.mismatch(base + 16 + 2 * MIB, 4 * MIB - 2 * MIB - 16, (byte) 9), "nor after it");
        Pages.unmap(base, 4 * MIB);
    }

    @Test
    void shouldAlignTheBaseBeyondAPage() {
        for (long alignment : new long[] {Pages.SIZE, 64 << 10, 2 * MIB, 64 * MIB}) {
            long base = Pages.map(3 * MIB + 5, alignment);
            assertNotEquals(0, base);
            assertEquals(0, base & (alignment - 1), "aligned to " + alignment);
            NativeMemory.putByte(base + 3 * MIB + 4, (byte) 7); // the last byte asked for is mapped
            assertEquals(7, NativeMemory.getByte(base + 3 * MIB + 4));
            Pages.unmap(base, 3 * MIB + 5);
        }
    }

    @Test
    void shouldGiveWholePagesBackAndZeroTheEdges() {
        long size = 16 * Pages.SIZE;
        long base = Pages.map(size, Pages.SIZE);
        try {
            NativeMemory.fill(base, size, (byte) 0x5A);
            long from = base + 100;
            long length = 10 * Pages.SIZE;
            long given = Pages.discard(from, length);
            assertEquals(9 * Pages.SIZE, given, "pages 1..9 lie wholly inside");
            // before any read: a read of a discarded page maps the shared zero page, which mincore counts
            assertEquals(size - 9 * Pages.SIZE, Pages.resident(base, size), "the discarded pages are not resident");
            assertEquals(-1, NativeMemory.mismatch(from, length, (byte) 0), "every byte of the range reads zero");
            assertEquals(-1, NativeMemory.mismatch(base, 100, (byte) 0x5A), "the bytes before are kept");
            assertEquals(-1, NativeMemory.mismatch(from + length, base + size - from - length, (byte) 0x5A),
                "the bytes after are kept");
            assertEquals(0, Pages.discard(base + 10, 50), "a range inside one page is zeroed, not given back");
            assertEquals(-1, NativeMemory.mismatch(base + 10, 50, (byte) 0));
        } finally {
            Pages.unmap(base, size);
        }
    }

    @Test
    void shouldResizeKeepingTheBytesAndZeroingTheGrowth() {
        long base = Pages.map(MIB, Pages.SIZE);
        NativeMemory.fill(base, MIB, (byte) 3);
        long grown = Pages.remap(base, MIB, 32 * MIB);
        assertNotEquals(0, grown);
        assertEquals(-1, NativeMemory.mismatch(grown, MIB, (byte) 3), "the bytes moved with the mapping");
        assertEquals(-1, NativeMemory.mismatch(grown + MIB, 31 * MIB, (byte) 0), "the growth reads as zero");
        long shrunk = Pages.remap(grown, 32 * MIB, 2 * MIB);
        assertEquals(grown, shrunk, "shrinking stays in place");
        assertTrue(Pages.resident(shrunk, 2 * MIB) >= MIB);
        Pages.unmap(shrunk, 2 * MIB);
    }

    @Test
    void shouldRefuseWhatCannotBeMapped() {
        assertEquals(0, Pages.map(0, Pages.SIZE));
        assertEquals(0, Pages.map(-5, Pages.SIZE));
        assertEquals(0, Pages.map(Long.MAX_VALUE - 10, Pages.SIZE), "beyond any address space");
        assertEquals(0, Pages.map(1L << 62, Pages.SIZE), "more than the address space");
        assertEquals(Pages.SIZE, Pages.roundUp(1));
        assertEquals(2 * Pages.SIZE, Pages.roundUp(Pages.SIZE + 1));
    }
}
