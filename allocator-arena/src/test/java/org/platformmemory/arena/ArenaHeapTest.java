package org.platformmemory.arena;

import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.platformmemory.arena.ArenaAllocatorTest.MIB;
import static org.platformmemory.arena.ArenaAllocatorTest.fill;
import static org.platformmemory.arena.ArenaAllocatorTest.holds;

class ArenaHeapTest {

    private final ArenaAllocator allocator = ArenaAllocatorTest.open(Map.of());

    @AfterEach
    void close() {
        allocator.close();
    }

    @Test
    void shouldKeepAHeapsSpareHugeChunksApartAndReleaseThemWithTheHeap() {
        Allocator heap = allocator.createHeap();
        long block = heap.allocate(6 * MIB, 16);
        assertNotEquals(0, block);
        heap.free(block, 6 * MIB, 16);
        assertEquals(1L, heap.statistics().get("spareHugeChunks"), "the heap keeps its own");
        assertEquals(0L, allocator.statistics().get("spareHugeChunks"), "not the allocator's");
        assertNotEquals(block, allocator.allocate(6 * MIB, 16), "the allocator does not take the heap's spare");
        heap.close();
        assertEquals(0L, heap.statistics().get("spareHugeChunks"));
        assertEquals(0L, heap.statistics().get("spareHugeBytes"));
    }

    @Test
    void shouldFreeEveryBlockOfAHeapAtOnceWhenItIsClosed() {
        Allocator heap = allocator.createHeap();
        assertNotNull(heap);
        long[] sizes = {24, 700, 30_000, 200_000, 3 * MIB, 20 * MIB};
        for (int round = 0; round < 50; round++) {
            for (long size : sizes) {
                long block = heap.allocate(size, 16);
                assertNotEquals(0, block);
                fill(block, size, round);
            }
        }
        Map<String, Long> before = heap.statistics();
        assertTrue(before.get("chunks") > 1, before.toString());
        assertEquals(50L, before.get("hugeBlocks"));
        assertEquals(1L, allocator.statistics().get("heaps"));

        heap.close();

        Map<String, Long> after = heap.statistics();
        assertEquals(0L, after.get("chunks"));
        assertEquals(0L, after.get("hugeBlocks"));
        assertEquals(0L, allocator.statistics().get("heaps"));
        assertEquals(0, heap.allocate(64, 16), "a closed heap hands out nothing");
    }

    @Test
    void shouldKeepTheParentsBlocksWhenAHeapIsClosed() {
        long mine = allocator.allocate(4000, 16);
        fill(mine, 4000, 9);
        Allocator heap = allocator.createHeap();
        long theirs = heap.allocate(4000, 16);
        fill(theirs, 4000, 10);
        heap.close();
        assertTrue(holds(mine, 4000, 9));
        allocator.free(mine, 4000, 16);
    }

    @Test
    void shouldLetAnyThreadFreeABlockOfAHeap() throws InterruptedException {
        Allocator heap = allocator.createHeap();
        long[] blocks = new long[1000];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = heap.allocate(16 + i, 16);
        }
        Thread other = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < blocks.length; i++) {
                heap.free(blocks[i], 16 + i, 16);
            }
        });
        other.join();
        ((ArenaAllocator) heap).trim();
        assertEquals(0L, heap.statistics().get("chunks"));
        heap.close();
    }

    @Test
    void shouldCloseItsHeapsWhenTheAllocatorCloses() {
        ArenaAllocator parent = ArenaAllocatorTest.open(Map.of());
        Allocator heap = parent.createHeap();
        heap.allocate(100, 16);
        parent.close();
        assertEquals(0L, heap.statistics().get("chunks"));
        assertEquals(0, heap.allocate(100, 16));
    }
}
