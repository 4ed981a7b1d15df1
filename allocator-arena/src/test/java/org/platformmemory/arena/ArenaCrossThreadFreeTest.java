package org.platformmemory.arena;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.platformmemory.arena.ArenaAllocatorTest.fill;
import static org.platformmemory.arena.ArenaAllocatorTest.holds;

class ArenaCrossThreadFreeTest {

    private static final int PRODUCERS = 2;
    private static final int BLOCKS_EACH = 200_000;

    @Test
    void shouldTakeBackBlocksFreedByOtherThreadsUnderLoadAndEndWithEveryChunkReleased() throws Exception {
        ArenaAllocator allocator = ArenaAllocatorTest.open(Map.of("arena.retainChunks", "0"));
        ArrayBlockingQueue<long[]> queue = new ArrayBlockingQueue<>(1024);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] producers = new Thread[PRODUCERS];
        for (int p = 0; p < PRODUCERS; p++) {
            long seed = p;
            producers[p] = Thread.ofPlatform().name("producer-" + p).start(() -> {
                SplittableRandom random = new SplittableRandom(seed);
                try {
                    for (int i = 0; i < BLOCKS_EACH; i++) {
                        long size = random.nextInt(8) == 0 ? 1 + random.nextInt(200_000) : 1 + random.nextInt(512);
                        long block = allocator.allocate(size, 16);
                        if (block == 0) {
                            throw new AssertionError("allocate(" + size + ") failed");
                        }
                        fill(block, size, i);
                        queue.put(new long[] {block, size, i});
                        if (random.nextInt(4) == 0) {
                            // and some of its own traffic, freed on the same thread
                            long own = allocator.allocate(size, 16);
                            allocator.free(own, size, 16);
                        }
                    }
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            });
        }
        Thread consumer = Thread.ofPlatform().name("consumer").start(() -> {
            try {
                for (int i = 0; i < PRODUCERS * BLOCKS_EACH; i++) {
                    long[] b = queue.take();
                    if (!holds(b[0], b[1], b[2])) {
                        throw new AssertionError("block " + Long.toHexString(b[0]) + " was overwritten before its free");
                    }
                    allocator.free(b[0], b[1], 16);
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        });
        for (Thread producer : producers) {
            producer.join();
        }
        consumer.join();
        assertNull(failure.get());
        allocator.trim(); // this thread's cache, and those of the ended threads
        assertEquals(0L, allocator.statistics().get("chunks"), allocator.statistics().toString());
        assertEquals(0L, allocator.statistics().get("usedPageBytes"));
        allocator.close();
    }
}
