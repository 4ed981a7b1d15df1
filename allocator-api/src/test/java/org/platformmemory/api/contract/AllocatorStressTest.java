package org.platformmemory.api.contract;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.TrackedAllocator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bounded stress run: several threads, random sizes from 1 B to 1 MiB, random allocate, free and
 * realloc, every block filled with a pattern and checked before it is freed, blocks handed between
 * threads. It runs for {@code -Dstress.seconds} (default 10) and must end with nothing live, no error.
 */
public abstract class AllocatorStressTest extends BackendUnderTest {

    private static final int THREADS = 4;
    private static final int MAX_BLOCKS_PER_THREAD = 2_000;

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void shouldSurviveRandomTrafficFromSeveralThreadsAndEndWithNothingLive() throws Exception {
        Duration budget = Duration.ofSeconds(Long.getLong("stress.seconds", 10));
        TrackedAllocator memory = open();
        RecordingErrorHandler errors = new RecordingErrorHandler();
        memory.setErrorHandler(errors);
        ArrayBlockingQueue<long[]> handoff = new ArrayBlockingQueue<>(4_096);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong operations = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        long deadline = System.nanoTime() + budget.toNanos();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            long threadSeed = 0x5EED + t;
            workers.add(Thread.ofPlatform().name("stress-" + t).start(() -> {
                SplittableRandom random = new SplittableRandom(threadSeed);
                List<long[]> mine = new ArrayList<>();
                long ops = 0;
                try {
                    start.await();
                    while (System.nanoTime() < deadline && failure.get() == null) {
                        int op = random.nextInt(100);
                        if (mine.isEmpty() || (op < 45 && mine.size() < MAX_BLOCKS_PER_THREAD)) {
                            long size = randomSize(random);
                            int flags = random.nextInt(8) == 0 ? MemoryFlags.CLEAR : MemoryFlags.NORMAL;
                            long p = memory.allocate(size, flags);
                            if (p == 0) {
                                throw new AssertionError("allocate(" + size + ") failed");
                            }
                            if (p % 16 != 0) {
                                throw new AssertionError("misaligned block " + p);
                            }
                            if (flags == MemoryFlags.CLEAR && !BlockPattern.allBytes(p, Math.min(size, 4096), (byte) 0)) {
                                throw new AssertionError("CLEAR block not zeroed");
                            }
                            long seed = random.nextLong();
                            BlockPattern.fill(p, size, seed);
                            mine.add(new long[] {p, size, seed});
                        } else if (op < 55) {
                            long[] b = mine.remove(random.nextInt(mine.size()));
                            if (!handoff.offer(b)) {
                                mine.add(b);
                            }
                        } else if (op < 75) {
                            int i = random.nextInt(mine.size());
                            long[] b = mine.get(i);
                            check(b);
                            long newSize = randomSize(random);
                            long q = memory.reallocate(b[0], random.nextBoolean() ? b[1] : 0, newSize);
                            if (q == 0) {
                                throw new AssertionError("reallocate to " + newSize + " failed");
                            }
                            long kept = Math.min(b[1], newSize);
                            if (!BlockPattern.holds(q, kept, b[1], b[2])) {
                                throw new AssertionError("realloc from " + b[1] + " to " + newSize + " lost contents");
                            }
                            long seed = random.nextLong();
                            BlockPattern.fill(q, newSize, seed);
                            mine.set(i, new long[] {q, newSize, seed});
                        } else {
                            long[] b = op < 85 ? handoff.poll() : null;
                            if (b == null) {
                                b = mine.remove(random.nextInt(mine.size()));
                            }
                            check(b);
                            memory.free(b[0], random.nextBoolean() ? b[1] : 0);
                        }
                        ops++;
                    }
                    for (long[] b : mine) {
                        check(b);
                        memory.free(b[0], b[1]);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    operations.addAndGet(ops);
                }
            }));
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("a stress worker failed", failure.get());
        }
        for (long[] b : handoff) {
            check(b);
            memory.free(b[0], 0);
        }
        try {
            assertTrue(operations.get() > 1000, "the stress run did work: " + operations.get() + " operations");
            assertEquals(0, memory.liveBytes(), "live bytes at the end");
            assertEquals(0, memory.liveBlocks(), "live blocks at the end");
            assertEquals(0, memory.callerErrors(), () -> "errors: " + errors.reports());
            assertEquals(0, memory.failedAllocations());
            assertTrue(memory.peakBytes() > 0);
        } finally {
            memory.close();
        }
    }

    /** Mostly small, sometimes medium, rarely up to 1 MiB: a game's mix. */
    private static long randomSize(SplittableRandom random) {
        int kind = random.nextInt(100);
        if (kind < 70) {
            return random.nextLong(1, 257);
        }
        if (kind < 95) {
            return random.nextLong(257, 65_537);
        }
        return random.nextLong(65_537, (1 << 20) + 1);
    }

    private static void check(long[] b) {
        if (!BlockPattern.holds(b[0], b[1], b[2])) {
            throw new AssertionError("block " + b[0] + " (" + b[1] + " bytes) was changed by someone else");
        }
    }
}
