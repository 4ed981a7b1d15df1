package org.platformmemory.arena;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.kit.NativeMemory;
import org.platformmemory.api.kit.Pages;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArenaAllocatorTest {

    static final long MIB = 1 << 20;

    private ArenaAllocator allocator = open(Map.of());

    static ArenaAllocator open(Map<String, String> settings) {
        return (ArenaAllocator) new ArenaAllocatorProvider().create(AllocatorConfig.of(settings));
    }

    static MemorySegment at(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    static void fill(long address, long size, long seed) {
        MemorySegment block = at(address, size);
        for (long i = 0; i < size; i += 8) {
            block.set(JAVA_BYTE, i, (byte) (seed + i));
        }
        block.set(JAVA_BYTE, size - 1, (byte) seed);
    }

    static boolean holds(long address, long size, long seed) {
        MemorySegment block = at(address, size);
        for (long i = 0; i < size - 1; i += 8) {
            if (block.get(JAVA_BYTE, i) != (byte) (seed + i)) {
                return false;
            }
        }
        return block.get(JAVA_BYTE, size - 1) == (byte) seed;
    }

    @AfterEach
    void close() {
        allocator.close();
    }

    @Test
    void shouldHandOutAlignedBlocksThatKeepTheirContentsForSmallMediumAndHugeSizes() {
        long[] sizes = {1, 16, 17, 64, 100, 129, 1000, 4096, 32 * 1024, 32 * 1024 + 1, 100_000, 4 * MIB, 4 * MIB + 1, 9 * MIB};
        long[] blocks = new long[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            blocks[i] = allocator.allocate(sizes[i], Allocator.MIN_ALIGNMENT);
            assertNotEquals(0, blocks[i]);
            assertEquals(0, blocks[i] % 16);
            fill(blocks[i], sizes[i], i);
        }
        for (int i = 0; i < sizes.length; i++) {
            assertTrue(holds(blocks[i], sizes[i], i), "block of " + sizes[i] + " was overwritten");
            allocator.free(blocks[i], sizes[i], Allocator.MIN_ALIGNMENT);
        }
    }

    @Test
    void shouldHonourAlignmentsBelowAndAboveAPage() {
        for (long alignment = 16; alignment <= 2 * MIB; alignment <<= 1) {
            for (long size : new long[] {1, 200, 5000, 40_000}) {
                long block = allocator.allocate(size, alignment);
                assertNotEquals(0, block);
                assertEquals(0, block % alignment, size + " bytes at " + alignment);
                fill(block, size, 7);
                assertTrue(holds(block, size, 7));
                allocator.free(block, size, alignment);
            }
        }
        allocator.trim();
        assertEquals(0L, allocator.statistics().get("hugeBlocks"));
        assertEquals(0L, allocator.statistics().get("chunks"));
    }

    @Test
    void shouldReuseAFreedSmallBlockWithoutGrowing() {
        long first = allocator.allocate(64, 16);
        allocator.free(first, 64, 16);
        long second = allocator.allocate(64, 16);
        assertEquals(first, second);
        allocator.free(second, 64, 16);
        assertEquals(1L, allocator.statistics().get("chunksOpened"));
    }

    @Test
    void shouldReleaseAChunkOnceEveryBlockInItIsFree() {
        ArenaAllocator a = open(Map.of("arena.retainChunks", "0"));
        try {
            long[] blocks = new long[64];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = a.allocate(MIB, 16); // four to a 4 MiB chunk
            }
            assertEquals(16L, a.statistics().get("chunks"));
            for (int i = 0; i < 4; i++) {
                a.free(blocks[i], MIB, 16);
            }
            assertEquals(15L, a.statistics().get("chunks"), "the first chunk is empty and goes");
            for (int i = 4; i < blocks.length; i++) {
                a.free(blocks[i], MIB, 16);
            }
            assertEquals(0L, a.statistics().get("chunks"));
            assertEquals(16L, a.statistics().get("chunksReleased"));
        } finally {
            a.close();
        }
    }

    @Test
    void shouldGiveTheFreePagesOfChunksStillInUseBackOnTrim() {
        ArenaAllocator a = open(Map.of("arena.threadCache", "false"));
        try {
            long[] blocks = new long[200_000];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = a.allocate(48, 16);
                NativeMemory.fill(blocks[i], 48, (byte) 1);
            }
            long mapped = a.mappedBytes();
            assertTrue(a.residentBytes() >= 200_000L * 48, "written: " + a.residentBytes());
            for (int i = 0; i < blocks.length; i++) {
                if (i % 50_000 != 0) { // a block every 50,000 keeps its slab, and so its chunk, mapped
                    a.free(blocks[i], 48, 16);
                }
            }
            a.trim();
            assertTrue(a.mappedBytes() > 0 && a.mappedBytes() <= mapped, "the chunks with a live block stay mapped");
            assertTrue(a.residentBytes() <= 4 * 64 * 1024, "but only the slabs in use stay resident: " + a.residentBytes());
            for (int i = 0; i < blocks.length; i += 50_000) {
                assertTrue(NativeMemory.mismatch(blocks[i], 48, (byte) 1) == -1, "a live block keeps its bytes");
                a.free(blocks[i], 48, 16);
            }
            a.trim();
            assertEquals(0, a.mappedBytes(), "empty, every chunk goes");
        } finally {
            a.close();
        }
    }

    @Test
    void shouldTakeNewChunksReadyMadeAndKeepReleasedOnesReadyUpToTheTarget() throws InterruptedException {
        ArenaAllocator a = open(Map.of("arena.retainChunks", "0", "arena.readyChunks", "2"));
        try {
            long first = a.allocate(3 * MIB, 16); // the first chunk: none ready yet, made here; the maker starts
            assertEquals(1L, a.statistics().get("readyChunksMissed"));
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (a.statistics().get("readyChunks") < 2 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(2L, a.statistics().get("readyChunks"), "two made ahead");
            long second = a.allocate(3 * MIB, 16); // does not fit the first chunk: a ready one
            assertEquals(1L, a.statistics().get("readyChunksTaken"));
            assertEquals(2L, a.statistics().get("chunks"));
            assertEquals(3 * MIB, Pages.resident(second, 3 * MIB), "a ready chunk's pages are faulted in");
            fill(second, 3 * MIB, 7);
            assertTrue(holds(second, 3 * MIB, 7), "a ready chunk is memory like any other");
            while (a.statistics().get("readyChunks") < 2 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            a.free(first, 3 * MIB, 16);
            a.free(second, 3 * MIB, 16);
            assertEquals(0L, a.statistics().get("chunks"), "both released (retainChunks=0)");
            assertEquals(2L, a.statistics().get("readyChunks"), "the ready ones were full: the released chunks went");
            Allocator heap = a.createHeap();
            assertEquals(null, ((ArenaAllocator) heap).statistics().get("readyChunks"), "private heaps have none");
        } finally {
            a.close();
        }
        assertEquals(0L, a.statistics().get("readyChunks"), "closed: the ready chunks are gone");
    }

    @Test
    void shouldMapHugeBlocksWithoutMakingThemResidentAndZeroThemWithoutWriting() {
        ArenaAllocator a = open(Map.of());
        long size = 512 * MIB;
        try {
            long block = a.allocateZeroed(size, 16);
            assertNotEquals(0, block);
            assertEquals(0, Pages.resident(block, size), "a fresh mapping: nothing resident");
            fill(block, size / 2, 9);
            assertEquals(size / 2, Pages.resident(block, size), "what was written, and no more");
            a.free(block, size, 16);
            long plain = a.allocate(3 * MIB / 2 + 32 * MIB, 16); // a block that would not fit any spare
            assertEquals(0, Pages.resident(plain, 32 * MIB), "a new huge block is not written either");
            a.free(plain, 3 * MIB / 2 + 32 * MIB, 16);
        } finally {
            a.close();
        }
    }

    @Test
    void shouldGiveASpareHugeChunksPagesBackBeforeServingAClearedBlockFromIt() {
        ArenaAllocator a = open(Map.of("arena.retainHuge", "64m"));
        long size = 48 * MIB;
        try {
            long first = a.allocate(size, 16);
            fill(first, size, 5);
            a.free(first, size, 16);
            assertEquals(1L, a.statistics().get("spareHugeChunks"));
            long again = a.allocate(size, 16);
            assertEquals(first, again, "the spare serves the next block of its size");
            assertTrue(holds(again, size, 5), "as it was: a block's contents are undefined, nothing was written");
            a.free(again, size, 16);
            long cleared = a.allocateZeroed(size, 16);
            assertEquals(first, cleared);
            assertEquals(0, Pages.resident(cleared, size), "its pages went back to the system instead of being zeroed");
            assertEquals(-1, NativeMemory.mismatch(cleared, size, (byte) 0), "reads as zero");
            assertEquals(2L, a.statistics().get("hugeReused"));
            a.free(cleared, size, 16);
        } finally {
            a.close();
        }
    }

    @Test
    void shouldZeroSmallAndMediumBlocksItReuses() {
        ArenaAllocator a = open(Map.of());
        try {
            for (long size : new long[] {24, 4000, 100_000, 3 * MIB}) {
                long p = a.allocate(size, 16);
                fill(p, size, 0x33);
                a.free(p, size, 16);
                long q = a.allocateZeroed(size, 16);
                assertEquals(-1, NativeMemory.mismatch(q, size, (byte) 0), "size " + size);
                a.free(q, size, 16);
            }
        } finally {
            a.close();
        }
    }

    @Test
    void shouldMakeEveryChunkWhereItIsNeededWithoutReadyChunks() {
        ArenaAllocator a = open(Map.of("arena.readyChunks", "0"));
        try {
            a.allocate(3 * MIB, 16);
            a.allocate(3 * MIB, 16);
            assertEquals(2L, a.statistics().get("chunks"));
            assertEquals(null, a.statistics().get("readyChunks"));
        } finally {
            a.close();
        }
    }

    @Test
    void shouldReleaseChunksOfSmallBlocksOnceTheyAreAllFreeAndTheCachesTrimmed() {
        SplittableRandom random = new SplittableRandom(1);
        long[] sizes = new long[100_000];
        long[] blocks = new long[sizes.length];
        for (int i = 0; i < blocks.length; i++) {
            sizes[i] = 1 + random.nextInt(2048);
            blocks[i] = allocator.allocate(sizes[i], 16);
        }
        assertTrue(allocator.statistics().get("chunks") > 10);
        for (int i = 0; i < blocks.length; i++) {
            allocator.free(blocks[i], sizes[i], 16);
        }
        assertTrue(allocator.statistics().get("chunks") <= 2 + PageHeap.CLASSES.count(),
            "only the retained chunks and those holding cached blocks stay: " + allocator.statistics());
        allocator.trim();
        assertEquals(0L, allocator.statistics().get("chunks"));
        assertEquals(0L, allocator.statistics().get("slabs"));
    }

    @Test
    void shouldKeepEmptyChunksSoAFrameLoopOpensNoNewOnes() {
        for (int frame = 0; frame < 50; frame++) {
            long[] blocks = new long[8];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = allocator.allocate(MIB, 16); // two chunks' worth per frame
            }
            for (long block : blocks) {
                allocator.free(block, MIB, 16);
            }
        }
        assertEquals(2L, allocator.statistics().get("chunksOpened"));
        assertEquals(0L, allocator.statistics().get("chunksReleased"));
        assertEquals(2L, allocator.statistics().get("emptyChunks"));
    }

    @Test
    void shouldReleaseAHugeBlocksArenaWhenItIsFreed() {
        long block = allocator.allocate(64 * MIB, 16);
        assertNotEquals(0, block);
        assertEquals(1L, allocator.statistics().get("hugeBlocks"));
        allocator.free(block, 64 * MIB, 16);
        assertEquals(0L, allocator.statistics().get("hugeBlocks"));
        assertEquals(0L, allocator.statistics().get("hugeBytes"));
    }

    @Test
    void shouldReuseAFreedHugeBlocksChunkForTheNextOneItFitsAndReleaseItOnTrim() {
        long size = 6 * MIB; // larger than a 4 MiB chunk
        long block = allocator.allocate(size, 16);
        at(block, size).fill((byte) 7);
        allocator.free(block, size, 16);
        assertEquals(1L, allocator.statistics().get("spareHugeChunks"));
        assertEquals(size, allocator.statistics().get("spareHugeBytes"));
        long opened = allocator.statistics().get("chunksOpened");

        long again = allocator.allocate(size - 100, 16);
        assertEquals(block, again, "the spare's memory, mapped once");
        assertEquals(opened, allocator.statistics().get("chunksOpened"));
        assertEquals(1L, allocator.statistics().get("hugeReused"));
        assertEquals(1L, allocator.statistics().get("hugeBlocks"));
        assertEquals(0L, allocator.statistics().get("spareHugeChunks"));
        at(again, size - 100).fill((byte) 9);
        allocator.free(again, size - 100, 16);

        long released = allocator.statistics().get("chunksReleased");
        allocator.trim();
        assertEquals(0L, allocator.statistics().get("spareHugeBytes"));
        assertEquals(released + 1, allocator.statistics().get("chunksReleased"));
    }

    @Test
    void shouldUnmapHugeBlocksAtOnceWithRetainHugeZero() {
        ArenaAllocator a = open(Map.of("arena.retainHuge", "0"));
        try {
            long block = a.allocate(6 * MIB, 16);
            a.free(block, 6 * MIB, 16);
            assertEquals(0L, a.statistics().get("spareHugeChunks"));
            assertEquals(1L, a.statistics().get("chunksReleased"));
        } finally {
            a.close();
        }
    }

    @Test
    void shouldReturnZeroInsteadOfThrowingWhenMemoryIsOut() {
        assertEquals(0, allocator.allocate(Allocator.MAX_BLOCK_SIZE, 16));
        assertEquals(0, allocator.allocate(1L << 46, 1 << 20));
    }

    @Test
    void shouldKeepABlockInPlaceWhenReallocStaysInItsClassOrPageRun() {
        long block = allocator.allocate(100, 16);
        fill(block, 100, 3);
        assertEquals(block, allocator.reallocate(block, 100, 110, 16));
        long moved = allocator.reallocate(block, 110, 1000, 16);
        assertNotEquals(block, moved);
        assertTrue(holds(moved, 100, 3));
        long large = allocator.reallocate(moved, 1000, 40_000, 16);
        assertTrue(holds(large, 100, 3));
        assertEquals(large, allocator.reallocate(large, 40_000, 40_960, 16));
        allocator.free(large, 40_960, 16);
    }

    @Test
    void shouldDrainTheCacheOfAThreadThatEnded() throws InterruptedException {
        Thread worker = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 100; i++) {
                allocator.free(allocator.allocate(48, 16), 48, 16);
            }
        });
        worker.join();
        assertEquals(1L, allocator.statistics().get("threadCaches"), "the worker's cache outlives it");
        allocator.trim();
        assertEquals(1L, allocator.statistics().get("threadCaches"), "only this thread's cache is left");
        assertEquals(0L, allocator.statistics().get("chunks"));
    }
}
