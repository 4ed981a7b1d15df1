package org.platformmemory.arena;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class ChunkTest {

    private final Chunk chunk = Chunk.carve(256 * 1024);

    @AfterEach
    void close() {
        chunk.release();
    }

    @Test
    void shouldBePageAlignedAndSplitIntoPages() {
        assertNotNull(chunk);
        assertEquals(0, chunk.base % Chunk.PAGE);
        assertEquals(64, chunk.freePages());
    }

    @Test
    void shouldTakeTheFirstRunOfFreePagesThatFits() {
        assertEquals(0, chunk.takePages(10));
        assertEquals(10, chunk.takePages(5));
        chunk.givePages(0, 10);
        assertEquals(0, chunk.takePages(4));
        assertEquals(15, chunk.takePages(7), "a run of 7 does not fit in the 6 pages left at 4..9");
        assertEquals(4, chunk.takePages(6));
        assertEquals(64 - 4 - 5 - 7 - 6, chunk.freePages());
    }

    @Test
    void shouldRefuseARunLongerThanAnyFreeStretch() {
        assertEquals(0, chunk.takePages(32));
        assertEquals(32, chunk.takePages(32));
        chunk.givePages(10, 1);
        chunk.givePages(40, 1);
        assertEquals(-1, chunk.takePages(2));
        assertEquals(10, chunk.takePages(1));
    }

    @Test
    void shouldMarkRunsThatCrossWordsOfThePageMapExactly() {
        Chunk big = Chunk.carve(256L * Chunk.PAGE); // four words of the page map
        try {
            assertEquals(0, big.takePages(3));
            assertEquals(3, big.takePages(130), "pages 3..132: the rest of word 0, all of word 1, part of word 2");
            assertEquals(133, big.takePages(64), "pages 133..196: part of word 2 and part of word 3");
            assertEquals(59, big.freePages());
            big.givePages(3, 130);
            assertEquals(130, big.freeRunAt(3), "exactly the pages given back are free");
            assertEquals(0, big.freeRunAt(133), "the next run is still used");
            assertEquals(-1, big.findRun(131), "131 pages do not fit in the hole of 130");
            assertEquals(3, big.takeBestPages(130));
            big.givePages(60, 5);
            assertEquals(5, big.freeRunAt(60), "pages 60..64 straddle words 0 and 1");
            assertEquals(59, big.freeRunAt(197), "the tail was never touched");
            assertEquals(64, big.freePages());
        } finally {
            big.release();
        }
    }

    @Test
    void shouldTakeTheSmallestHoleThatFitsWhenAskedForBestFit() {
        assertEquals(0, chunk.takePages(64));
        chunk.givePages(2, 10);  // a hole of 10
        chunk.givePages(20, 4);  // a hole of 4
        chunk.givePages(30, 6);  // a hole of 6
        assertEquals(30, chunk.takeBestPages(5), "6 is the smallest hole holding 5");
        assertEquals(20, chunk.takeBestPages(4), "an exact fit");
        assertEquals(2, chunk.takeBestPages(3));
        assertEquals(-1, chunk.takeBestPages(8), "only 7 pages are left together");
        assertEquals(7, chunk.freeRunAt(5), "pages 5 to 11");
    }

    @Test
    void shouldFindAnAddressesPageAndSlab() {
        int first = chunk.takePages(4);
        Slab slab = new Slab(chunk, first, 4, 3);
        chunk.ownPages(slab, first, 4);
        long block = chunk.addressOf(first) + 3 * Chunk.PAGE + 16;
        assertEquals(first + 3, chunk.pageOf(block));
        assertEquals(slab, chunk.slabAt(chunk.pageOf(block)));
        chunk.ownPages(null, first, 4);
        assertNull(chunk.slabAt(first));
    }

    @Test
    void shouldHandOutEveryBlockOfASlabOnceThenReuseFreedOnes() {
        int first = chunk.takePages(4);
        Slab slab = new Slab(chunk, first, 4, PageHeap.CLASSES.classOf(64));
        assertEquals(4 * Chunk.PAGE / 64, slab.capacity);
        long[] blocks = new long[slab.capacity];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = slab.take();
            assertEquals(chunk.addressOf(first) + 64L * i, blocks[i]);
        }
        assertEquals(0, slab.take());
        slab.give(blocks[7]);
        slab.give(blocks[3]);
        assertEquals(blocks[3], slab.take());
        assertEquals(blocks[7], slab.take());
        for (long block : blocks) {
            slab.give(block);
        }
        assertEquals(true, slab.isEmpty());
    }
}
