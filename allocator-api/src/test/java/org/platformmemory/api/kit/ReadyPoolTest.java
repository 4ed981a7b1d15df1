package org.platformmemory.api.kit;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ReadyPoolTest {

    private final AtomicInteger next = new AtomicInteger();
    private final ConcurrentLinkedQueue<Integer> discarded = new ConcurrentLinkedQueue<>();

    private ReadyPool<Integer> pool(int target) {
        return new ReadyPool<>("ready-pool-test", target, next::incrementAndGet, discarded::add);
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        while (!condition.getAsBoolean()) {
            Thread.sleep(1);
        }
    }

    @Test
    void shouldMakeNothingBeforeTheFirstPollThenKeepTheTargetReady() throws InterruptedException {
        try (ReadyPool<Integer> pool = pool(2)) {
            Thread.sleep(50);
            assertEquals(0, next.get(), "no maker before it is needed");
            assertNull(pool.poll(), "the first need finds none ready: the caller makes its own");
            await(() -> pool.ready() == 2);
            Thread.sleep(20);
            assertEquals(2, next.get(), "made up to the target, not beyond");
            assertEquals(1, pool.poll(), "the oldest first");
            await(() -> pool.ready() == 2);
            assertEquals(3, next.get());
            assertArrayEquals(new long[] {3, 1, 1}, pool.counts(), "made, taken, missed");
        }
        assertEquals(List.of(2, 3), List.copyOf(discarded), "what was ready is discarded at close");
    }

    @Test
    void shouldKeepAnOfferedThingOnlyBelowTheTarget() throws InterruptedException {
        try (ReadyPool<Integer> pool = pool(1)) {
            assertTrue(pool.offer(100), "below the target");
            assertFalse(pool.offer(101), "at the target: the owner discards it");
            assertEquals(100, pool.poll());
            await(() -> pool.ready() == 1);
            assertFalse(pool.offer(102));
        }
        assertEquals(List.of(1), List.copyOf(discarded));
    }

    @Test
    void shouldDiscardOnClearAndRefuseEverythingAfterClose() throws InterruptedException {
        ReadyPool<Integer> pool = pool(3);
        pool.poll();
        await(() -> pool.ready() == 3);
        pool.clear();
        assertEquals(3, discarded.size());
        assertEquals(0, pool.ready());
        pool.poll(); // makes again
        await(() -> pool.ready() == 3);
        pool.close();
        assertEquals(6, discarded.size());
        assertNull(pool.poll());
        assertFalse(pool.offer(7));
        Thread.sleep(20);
        assertEquals(6, next.get(), "the maker stopped");
    }

    @Test
    void shouldTryAgainWhenTheMakerCannotMakeOneNow() throws InterruptedException {
        AtomicInteger attempts = new AtomicInteger();
        try (ReadyPool<Integer> pool = new ReadyPool<>("ready-pool-test", 1,
                () -> attempts.incrementAndGet() < 3 ? null : 42, discarded::add)) {
            assertNull(pool.poll());
            await(() -> pool.ready() == 1);
            assertEquals(3, attempts.get(), "two failures, then one made");
            assertEquals(42, pool.poll());
        }
    }

    @Test
    void shouldNeverMakeAnythingWithATargetOfZero() throws InterruptedException {
        try (ReadyPool<Integer> pool = pool(0)) {
            assertNull(pool.poll());
            assertFalse(pool.offer(1));
            Thread.sleep(20);
            assertEquals(0, next.get());
        }
    }

    @Test
    void shouldKeepMakingAfterTheMakerThrows() throws InterruptedException {
        AtomicInteger attempts = new AtomicInteger();
        try (ReadyPool<Integer> pool = new ReadyPool<>("ready-pool-test", 1, () -> {
            if (attempts.incrementAndGet() == 1) {
                throw new AssertionError("a maker that fails once");
            }
            return 7;
        }, discarded::add)) {
            assertNull(pool.poll());
            await(() -> pool.ready() == 1);
            assertEquals(7, pool.poll(), "the maker survived the throw");
        }
    }
}
