package org.platformmemory.agrona;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One slab's free stack under contention: several threads pop (one slot, or a batch) and push the same
 * few slots as fast as they can, and every popped slot is claimed in an owner table. A slot handed to a
 * second owner while the first still holds it (the ABA double pop: a pop that read the head, was held up
 * while others popped and pushed, and then succeeded with a stale next link) fails the test with the slot
 * and both owners. Few slots and more threads than cores make the stale pop as likely as it can be made:
 * every slot is on and off the stack all the time, and a thread is often descheduled inside a pop.
 * Bounded by a deadline, not by a count, so a slow machine still finishes.
 */
class SlabContentionTest {

    private static final int SLOT = 16;
    private static final int SLOTS = 32;
    private static final int THREADS = 8;
    private static final long RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(1500);

    private Slab slab;

    @AfterEach
    void release() {
        if (slab != null && slab.retireIfEmpty()) {
            slab.release();
        }
    }

    @Test
    void shouldNeverHandOneSlotToTwoOwnersWhenThreadsPopAndPushAtOnce() throws Exception {
        slab = Slab.allocate(SLOT * SLOTS, SLOT, System.nanoTime());
        assertEquals(SLOTS, slab.slotCount());
        AtomicIntegerArray owner = new AtomicIntegerArray(SLOTS); // 0: on the stack; else the thread's id
        AtomicReference<String> failure = new AtomicReference<>();
        long[] operations = new long[THREADS];
        CountDownLatch start = new CountDownLatch(1);
        long deadline = System.nanoTime() + RUN_NANOS;
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int id = t + 1;
            Thread thread = new Thread(() -> {
                SplittableRandom random = new SplittableRandom(id);
                long[] batch = new long[8];
                int[] held = new int[SLOTS];
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                long ops = 0;
                while (failure.get() == null && ((ops & 255) != 0 || System.nanoTime() - deadline < 0)) {
                    int n = 0;
                    if (random.nextBoolean()) {
                        int index = slab.pop();
                        if (index >= 0) {
                            held[n++] = index;
                        }
                    } else {
                        int taken = slab.pop(batch, 0, 1 + random.nextInt(batch.length));
                        for (int i = 0; i < taken; i++) {
                            held[n++] = slab.indexOf(batch[i]);
                        }
                    }
                    for (int i = 0; i < n; i++) {
                        int index = held[i];
                        if (index < 0 || index >= SLOTS) {
                            failure.compareAndSet(null, "thread " + id + " popped slot " + index
                                + ", outside the slab's " + SLOTS);
                            return;
                        }
                        int before = owner.compareAndExchange(index, 0, id);
                        if (before != 0) {
                            failure.compareAndSet(null, "slot " + index + " popped by thread " + id
                                + " while thread " + before + " still held it (after " + ops + " operations)");
                            return;
                        }
                    }
                    // give them back, the last taken first half the time, so the stack order keeps changing
                    boolean reverse = random.nextBoolean();
                    for (int i = 0; i < n; i++) {
                        int index = held[reverse ? n - 1 - i : i];
                        owner.set(index, 0);
                        slab.push(index);
                    }
                    ops++;
                }
                operations[id - 1] = ops;
            }, "slab-contention-" + id);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        start.countDown();
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(thread.isAlive(), thread.getName() + " did not finish within 30 s");
        }
        assertNull(failure.get());
        long total = 0;
        for (long ops : operations) {
            total += ops;
        }
        assertTrue(total > THREADS, "the threads made " + total + " pop/push rounds");

        // quiet again: every slot is back on the stack exactly once
        assertEquals(SLOTS, slab.freeSlots());
        BitSet seen = new BitSet(SLOTS);
        for (int i = 0; i < SLOTS; i++) {
            int index = slab.pop();
            assertTrue(index >= 0 && index < SLOTS && !seen.get(index), "pop " + i + " gave slot " + index);
            seen.set(index);
        }
        assertEquals(-1, slab.pop(), "the stack is empty after every slot was taken");
        for (int i = 0; i < SLOTS; i++) {
            slab.push(i);
        }
    }
}
