package org.platformmemory.netty;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NettyAllocatorTest {

    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private NettyAllocator allocator = create(Map.of());

    private static NettyAllocator create(Map<String, String> settings) {
        return new NettyAllocator(NettySettings.from(AllocatorConfig.of(settings)));
    }

    @AfterEach
    void close() {
        allocator.close();
    }

    private static void fill(long address, long size, byte value) {
        EVERYTHING.asSlice(address, size).fill(value);
    }

    private static void assertFilled(long address, long size, byte value) {
        MemorySegment block = EVERYTHING.asSlice(address, size);
        for (long i = 0; i < size; i++) {
            if (block.get(ValueLayout.JAVA_BYTE, i) != value) {
                throw new AssertionError("byte " + i + " of the block at " + address + " was overwritten");
            }
        }
    }

    @Test
    void shouldReturnSixteenByteAlignedAddressesForEverySizeFromOneByteToOneMebibyte() {
        List<long[]> blocks = new ArrayList<>();
        for (long size = 1; size <= 1 << 20; size = size < 64 ? size + 1 : size * 3 / 2 + 1) {
            long address = allocator.allocate(size, Allocator.MIN_ALIGNMENT);
            assertNotEquals(0, address, "size " + size);
            assertEquals(0, address & 15, "size " + size + " at " + Long.toHexString(address));
            fill(address, size, (byte) size);
            blocks.add(new long[] {address, size});
        }
        for (long[] block : blocks) {
            assertFilled(block[0], block[1], (byte) block[1]);
            allocator.free(block[0], block[1], Allocator.MIN_ALIGNMENT);
        }
        assertEquals(0, allocator.statistics().get("heldBuffers"));
        assertEquals(0, allocator.statistics().get("corruptTrailers"));
    }

    @Test
    void shouldHonourAlignmentsLargerThanSixteen() {
        for (long alignment = 32; alignment <= 1 << 20; alignment <<= 1) {
            for (long size : new long[] {1, 100, alignment, 3 * alignment + 5}) {
                long address = allocator.allocate(size, alignment);
                assertNotEquals(0, address);
                assertEquals(0, address & (alignment - 1), "alignment " + alignment + " size " + size);
                fill(address, size, (byte) 0x5A);
                assertFilled(address, size, (byte) 0x5A);
                allocator.free(address, size, alignment);
            }
        }
        assertEquals(0, allocator.statistics().get("heldBuffers"));
        assertEquals(0, allocator.statistics().get("corruptTrailers"));
    }

    @Test
    void shouldServeAndCountBlocksLargerThanAChunk() {
        allocator.close();
        allocator = create(Map.of("netty.pageSize", "4k", "netty.maxOrder", "2")); // 16 KiB chunks
        long size = 100_000;
        long nettyHugeBefore = allocator.statistics().get("arenaHugeAllocations");
        long address = allocator.allocate(size, Allocator.MIN_ALIGNMENT);
        assertNotEquals(0, address);
        assertEquals(0, address & 15);
        fill(address, size, (byte) 7);
        Map<String, Long> live = allocator.statistics();
        assertEquals(1, live.get("hugeAllocations"));
        assertEquals(1, live.get("liveHugeBlocks"));
        assertTrue(live.get("liveHugeBytes") >= size, "live huge bytes " + live.get("liveHugeBytes"));
        assertEquals(1, live.get("arenaHugeAllocations") - nettyHugeBefore);
        assertFilled(address, size, (byte) 7);

        allocator.free(address, size, Allocator.MIN_ALIGNMENT);
        Map<String, Long> after = allocator.statistics();
        assertEquals(1, after.get("hugeAllocations"));
        assertEquals(0, after.get("liveHugeBlocks"));
        assertEquals(0, after.get("liveHugeBytes"));
        assertEquals(0, after.get("heldBuffers"));
    }

    @Test
    void shouldTrimWhenMemoryWentBackNotWhenTheSameMemoryIsFreedAndTakenAgain() {
        long size = 1 << 20; // above the backend's cache: every free gives the buffer back to Netty
        for (int i = 0; i < 200; i++) { // 200 MiB freed, and as much taken again
            long address = allocator.allocate(size, Allocator.MIN_ALIGNMENT);
            assertNotEquals(0, address);
            allocator.free(address, size, Allocator.MIN_ALIGNMENT);
        }
        assertEquals(0, allocator.statistics().get("trims"), "a loop of pairs gives nothing back for good");
        long[] held = new long[2 * (int) (NettyAllocator.TRIM_AFTER / size)];
        for (int i = 0; i < held.length; i++) {
            held[i] = allocator.allocate(size, Allocator.MIN_ALIGNMENT);
            assertNotEquals(0, held[i]);
        }
        for (long address : held) {
            allocator.free(address, size, Allocator.MIN_ALIGNMENT);
        }
        assertEquals(2, allocator.statistics().get("trims"), "64 MiB given back: a trim each 32 MiB");
    }

    @Test
    void shouldRefuseAndCountABlockThatDoesNotFitANettyBuffer() {
        assertEquals(0, allocator.allocate(3L << 30, Allocator.MIN_ALIGNMENT));
        assertEquals(0, allocator.allocate(Allocator.MAX_BLOCK_SIZE, Allocator.MIN_ALIGNMENT));
        assertEquals(2, allocator.statistics().get("refusedTooLarge"));
        assertEquals(0, allocator.statistics().get("heldBuffers"));
    }

    @Test
    void shouldFreeOnAnotherThreadWhatOneThreadAllocated() throws Exception {
        BlockingQueue<long[]> handOver = new ArrayBlockingQueue<>(1024);
        int blocks = 50_000;
        Thread producer = Thread.ofPlatform().start(() -> {
            SplittableRandom random = new SplittableRandom(42);
            for (int i = 0; i < blocks; i++) {
                long size = 1 + random.nextInt(4096);
                long address = allocator.allocate(size, Allocator.MIN_ALIGNMENT);
                EVERYTHING.set(ValueLayout.JAVA_BYTE, address, (byte) i);
                EVERYTHING.set(ValueLayout.JAVA_BYTE, address + size - 1, (byte) i);
                try {
                    handOver.put(new long[] {address, size, i});
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        for (int i = 0; i < blocks; i++) {
            long[] block = handOver.poll(30, TimeUnit.SECONDS);
            assertNotEquals(null, block, "the producer stopped after " + i + " blocks");
            assertEquals((byte) block[2], EVERYTHING.get(ValueLayout.JAVA_BYTE, block[0]));
            assertEquals((byte) block[2], EVERYTHING.get(ValueLayout.JAVA_BYTE, block[0] + block[1] - 1));
            allocator.free(block[0], block[1], Allocator.MIN_ALIGNMENT);
        }
        producer.join();
        Map<String, Long> stats = allocator.statistics();
        assertEquals(0, stats.get("heldBuffers"));
        assertEquals(0, stats.get("corruptTrailers"));
        // slot numbers freed on this thread are reused, so the table stays far below one slot per block
        assertTrue(stats.get("slots") < 4096, "slots " + stats.get("slots"));
    }

    @Test
    void shouldLeaveABlockAloneWhenItsTrailerWasOverwritten() {
        long address = allocator.allocate(40, Allocator.MIN_ALIGNMENT);
        EVERYTHING.set(ValueLayout.JAVA_LONG, address + 40, 0x1234_5678_9ABC_DEF0L);
        allocator.free(address, 40, Allocator.MIN_ALIGNMENT);
        assertEquals(1, allocator.statistics().get("corruptTrailers"));
        assertEquals(1, allocator.statistics().get("heldBuffers"));
    }

    @Test
    void shouldNotReleaseAnotherBlocksBufferWhenGivenAWrongSize() {
        long first = allocator.allocate(64, Allocator.MIN_ALIGNMENT);
        long second = allocator.allocate(64, Allocator.MIN_ALIGNMENT);
        // a size that points past the first block into the second one's memory
        allocator.free(first, second - first + 64, Allocator.MIN_ALIGNMENT);
        assertEquals(2, allocator.statistics().get("heldBuffers"));
        allocator.free(first, 64, Allocator.MIN_ALIGNMENT);
        allocator.free(second, 64, Allocator.MIN_ALIGNMENT);
        assertEquals(0, allocator.statistics().get("heldBuffers"));
    }

    @Test
    void shouldNotReleaseTheBufferBelowWhenGivenASizeThatPointsBackIntoIt() {
        long a = allocator.allocate(64, Allocator.MIN_ALIGNMENT);
        long b = allocator.allocate(64, Allocator.MIN_ALIGNMENT);
        long low = Math.min(a, b);
        long high = Math.max(a, b);
        // a size (negative as a C size_t would be) whose "trailer" is the lower block's own trailer
        allocator.free(high, low - high + 64, Allocator.MIN_ALIGNMENT);
        assertEquals(1, allocator.statistics().get("corruptTrailers"));
        assertEquals(2, allocator.statistics().get("heldBuffers"));
        allocator.free(low, 64, Allocator.MIN_ALIGNMENT);
        allocator.free(high, 64, Allocator.MIN_ALIGNMENT);
        assertEquals(0, allocator.statistics().get("heldBuffers"));
    }

    @Test
    void shouldKeepTheFirstBytesWhenReallocating() {
        long address = allocator.allocate(100, Allocator.MIN_ALIGNMENT);
        fill(address, 100, (byte) 3);
        long grown = allocator.reallocate(address, 100, 10_000, Allocator.MIN_ALIGNMENT);
        assertNotEquals(0, grown);
        assertFilled(grown, 100, (byte) 3);
        long shrunk = allocator.reallocate(grown, 10_000, 10, Allocator.MIN_ALIGNMENT);
        assertFilled(shrunk, 10, (byte) 3);
        allocator.free(shrunk, 10, Allocator.MIN_ALIGNMENT);
        assertEquals(0, allocator.statistics().get("heldBuffers"));
    }

    @Test
    void shouldReleaseEveryBufferStillHeldWhenClosed() {
        for (int i = 0; i < 1000; i++) {
            assertNotEquals(0, allocator.allocate(1 + i, Allocator.MIN_ALIGNMENT));
        }
        assertEquals(1000, allocator.statistics().get("heldBuffers"));
        allocator.close();
        assertEquals(0, allocator.statistics().get("heldBuffers"));
    }

    @Test
    void shouldExposeNettysPoolMetrics() {
        long address = allocator.allocate(64, Allocator.MIN_ALIGNMENT);
        Map<String, Long> stats = allocator.statistics();
        assertEquals(Runtime.getRuntime().availableProcessors(), stats.get("arenas"));
        assertEquals(8192L << 9, stats.get("chunkSize"));
        assertTrue(stats.get("chunks") >= 1, "chunks " + stats.get("chunks"));
        assertTrue(stats.get("usedDirectMemory") >= 8192L << 9, "used " + stats.get("usedDirectMemory"));
        assertTrue(stats.get("threadCaches") >= 0, "thread caches " + stats.get("threadCaches"));
        assertEquals(1, stats.get("heldBuffers"));
        allocator.free(address, 64, Allocator.MIN_ALIGNMENT);
    }

    @Test
    void shouldGiveAPlainThreadAThreadCacheOnlyWhenTurnedOn() throws Exception {
        // without this backend's own cache in front, so that the free reaches Netty
        try (NettyAllocator cached = create(Map.of("netty.threadCaches", "true", "netty.blockCacheSize", "0",
                "netty.arenas", "1"))) {
            assertEquals(1, parkedAfterOneBlockOnAPlainThread(cached));
        }
        try (NettyAllocator uncached = create(Map.of("netty.blockCacheSize", "0"))) {
            assertEquals(0, parkedAfterOneBlockOnAPlainThread(uncached));
        }
    }

    /** Allocates and frees one small block on a new plain thread; returns how many more blocks Netty counts active. */
    private static long parkedAfterOneBlockOnAPlainThread(NettyAllocator backend) throws InterruptedException {
        long[] active = new long[1];
        long before = backend.statistics().get("arenaActiveAllocations");
        Thread plain = Thread.ofPlatform().start(() -> {
            long address = backend.allocate(64, Allocator.MIN_ALIGNMENT);
            backend.free(address, 64, Allocator.MIN_ALIGNMENT);
            active[0] = backend.statistics().get("arenaActiveAllocations") - before;
        });
        plain.join();
        return active[0];
    }
}
