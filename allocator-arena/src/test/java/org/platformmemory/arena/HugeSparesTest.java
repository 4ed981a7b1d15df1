package org.platformmemory.arena;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HugeSparesTest {

    private static final long MIB = 1 << 20;

    private final List<Chunk> opened = new ArrayList<>();

    private Chunk chunk(long size) {
        Chunk chunk = Chunk.single(size, Chunk.PAGE);
        opened.add(chunk);
        return chunk;
    }

    private static boolean isOpen(Chunk chunk) {
        return chunk.isMapped();
    }

    @AfterEach
    void closeWhatIsLeft() {
        for (Chunk chunk : opened) {
            if (isOpen(chunk)) {
                chunk.release();
            }
        }
    }

    @Test
    void shouldHandBackAKeptChunkForABlockOfItsSize() {
        HugeSpares spares = new HugeSpares(8 * MIB);
        Chunk chunk = chunk(4 * MIB);
        assertEquals(0, spares.keep(chunk));
        assertEquals(1, spares.count());
        assertEquals(4 * MIB, spares.bytes());

        assertSame(chunk, spares.take(4 * MIB, Chunk.PAGE));
        assertTrue(isOpen(chunk), "a spare taken is the caller's, open");
        assertEquals(0, spares.count());
        assertEquals(0, spares.bytes());
        assertEquals(1, spares.reused());
        assertNull(spares.take(4 * MIB, Chunk.PAGE), "taken once");
    }

    @Test
    void shouldTakeTheSmallestFitAndNeverOneMuchLargerThanTheBlock() {
        HugeSpares spares = new HugeSpares(32 * MIB);
        Chunk big = chunk(8 * MIB);
        Chunk small = chunk(5 * MIB);
        spares.keep(big);
        spares.keep(small);
        assertNull(spares.take(9 * MIB, Chunk.PAGE), "nothing is large enough");
        assertNull(spares.take(4 * MIB, Chunk.PAGE), "5 MiB is more than 8/7 of 4 MiB");
        assertSame(small, spares.take(5 * MIB - Chunk.PAGE, Chunk.PAGE));
        assertSame(big, spares.take(7 * MIB + 1, Chunk.PAGE), "7 MiB and a byte is at least 7/8 of 8 MiB");
    }

    @Test
    void shouldKeepToTheBudgetClosingTheOldestFirst() {
        HugeSpares spares = new HugeSpares(10 * MIB);
        Chunk first = chunk(4 * MIB);
        Chunk second = chunk(4 * MIB);
        Chunk third = chunk(4 * MIB);
        assertEquals(0, spares.keep(first));
        assertEquals(0, spares.keep(second));
        assertEquals(1, spares.keep(third), "12 MiB do not fit in 10: the oldest goes");
        assertFalse(isOpen(first));
        assertTrue(isOpen(second) && isOpen(third));
        assertEquals(8 * MIB, spares.bytes());

        Chunk huge = chunk(16 * MIB);
        assertEquals(1, spares.keep(huge), "larger than the whole budget: closed at once");
        assertFalse(isOpen(huge));
        assertEquals(2, spares.count());
    }

    @Test
    void shouldKeepNothingWithABudgetOfZero() {
        HugeSpares spares = new HugeSpares(0);
        Chunk chunk = chunk(MIB);
        assertEquals(1, spares.keep(chunk));
        assertFalse(isOpen(chunk));
        assertEquals(0, spares.count());
    }

    @Test
    void shouldTakeOnlyASpareAlignedAsAsked() {
        HugeSpares spares = new HugeSpares(32 * MIB);
        Chunk chunk = chunk(2 * MIB);
        spares.keep(chunk);
        long alignment = Long.lowestOneBit(chunk.base) << 1; // an alignment this base does not have
        assertNull(spares.take(2 * MIB, alignment));
        assertSame(chunk, spares.take(2 * MIB, Long.lowestOneBit(chunk.base)));
    }

    @Test
    void shouldCloseEverySpareOnClear() {
        HugeSpares spares = new HugeSpares(32 * MIB);
        Chunk a = chunk(2 * MIB);
        Chunk b = chunk(3 * MIB);
        spares.keep(a);
        spares.keep(b);
        assertEquals(2, spares.clear());
        assertFalse(isOpen(a) || isOpen(b));
        assertEquals(0, spares.count());
        assertEquals(0, spares.bytes());
    }
}
