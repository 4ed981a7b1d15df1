package org.platformmemory.api.kit;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ThreadStacksTest {

    /** A shared store of numbered blocks per class, counting what is out (taken and not given back). */
    static final class Store implements ThreadStacks.Backing {
        final ArrayDeque<Long>[] free;
        long out;
        int takes;
        int gives;

        @SuppressWarnings("unchecked")
        Store(int classes, int blocksEach) {
            free = new ArrayDeque[classes];
            for (int c = 0; c < classes; c++) {
                free[c] = new ArrayDeque<>();
                for (int i = 1; i <= blocksEach; i++) {
                    free[c].push(((long) c << 32) | i);
                }
            }
        }

        @Override
        public synchronized int take(int sizeClass, long[] into, int at, int max) {
            takes++;
            int n = 0;
            while (n < max && !free[sizeClass].isEmpty()) {
                into[at + n++] = free[sizeClass].pop();
            }
            out += n;
            return n;
        }

        @Override
        public synchronized void give(int sizeClass, long[] from, int at, int count) {
            gives++;
            for (int i = at; i < at + count; i++) {
                assertEquals(sizeClass, (int) (from[i] >>> 32), "a block given back to another class");
                free[sizeClass].push(from[i]);
            }
            out -= count;
        }

        synchronized long out() {
            return out;
        }
    }

    private final Store store = new Store(3, 1000);
    private final ThreadStacks stacks = new ThreadStacks(new int[] {8, 2, 0}, store);

    @Test
    void shouldRefillAnEmptyStackWithHalfItsCapacityInOneBatch() {
        long block = stacks.current().pop(0);
        assertNotEquals(0, block);
        assertEquals(1, store.takes);
        assertEquals(4, store.out(), "half of eight taken at once");
        assertEquals(3, stacks.current().count(0));
        for (int i = 0; i < 3; i++) {
            stacks.current().pop(0);
        }
        assertEquals(1, store.takes, "served from the stack");
    }

    /**
     * A flushAll gives the caller's blocks back at once and another thread's at that thread's next refill or
     * spill, once; a pop or push its stack serves does not flush.
     */
    @Test
    void shouldFlushEveryThreadOnItsNextRefillOrSpillAfterFlushAll() throws Exception {
        ThreadStacks.Stacks mine = stacks.current();
        mine.push(0, mine.pop(0));
        mine.push(1, mine.pop(1));
        assertTrue(store.out() > 0);
        CountDownLatch filled = new CountDownLatch(1);
        CountDownLatch flushed = new CountDownLatch(1);
        long[] seen = new long[4];
        Thread other = Thread.ofPlatform().start(() -> {
            ThreadStacks.Stacks theirs = stacks.current();
            long a = theirs.pop(0); // refill: 4 taken, 3 left on the stack
            theirs.push(1, theirs.pop(1)); // class 1: 1 taken, given back to its stack
            filled.countDown();
            await(flushed);
            seen[0] = theirs.count(1);
            theirs.push(0, a); // served by its stack: no flush
            seen[1] = theirs.count(1);
            for (int i = 0; i < 5; i++) {
                theirs.pop(0); // the fifth finds class 0 empty: the refill flushes first
            }
            seen[2] = theirs.count(1);
            theirs.push(1, theirs.pop(1)); // class 1 refilled (no flush again) and its block back on its stack
            for (int i = 0; i < 4; i++) {
                theirs.pop(0); // the fourth refills class 0, which must not flush again
            }
            seen[3] = theirs.count(1);
        });
        filled.await();
        long theirsOut = store.out();
        stacks.flushAll();
        assertEquals(0, mine.count(0) + mine.count(1), "this thread's stacks went back at once");
        long afterMine = store.out();
        assertTrue(afterMine < theirsOut);
        flushed.countDown();
        other.join();
        assertEquals(1, seen[0], "the other thread's class 1 kept until it refills or spills");
        assertEquals(1, seen[1], "a push its stack serves does not flush");
        assertEquals(0, seen[2], "its refill gave its class 1 back");
        assertEquals(1, seen[3], "once only: the next refill kept class 1");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void shouldHandBackTheLastBlockFreedFirst() {
        ThreadStacks.Stacks mine = stacks.current();
        long a = mine.pop(0);
        long b = mine.pop(0);
        mine.push(0, a);
        mine.push(0, b);
        assertEquals(b, mine.pop(0));
        assertEquals(a, mine.pop(0));
    }

    @Test
    void shouldSpillTheOlderHalfOfAFullStackAndKeepTheNewest() {
        ThreadStacks.Stacks mine = stacks.current();
        long[] blocks = new long[9];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = mine.pop(0);
        }
        stacks.flushCurrent(); // the leftovers of the last batch go back: the stack is empty
        for (long block : blocks) {
            mine.push(0, block);
            assertTrue(mine.count(0) <= 8, "never more than the capacity");
        }
        assertEquals(5, mine.count(0), "eight, then the older four went back, then the ninth on top");
        assertEquals(blocks[8], mine.pop(0));
        assertEquals(blocks[7], mine.pop(0));
        assertEquals(3 + 2, store.out(), "out: the three the stack holds and the two just popped");
    }

    @Test
    void shouldPassBlocksStraightThroughAClassOfCapacityZero() {
        ThreadStacks.Stacks mine = stacks.current();
        long block = mine.pop(2);
        assertEquals(1, store.out());
        assertEquals(0, mine.count(2));
        mine.push(2, block);
        assertEquals(0, store.out());
        assertEquals(block, mine.pop(2), "the store hands it out again");
    }

    @Test
    void shouldAnswerZeroWhenTheBackingHasNoBlockLeft() {
        ThreadStacks tiny = new ThreadStacks(new int[] {4}, new Store(1, 1));
        assertNotEquals(0, tiny.current().pop(0));
        assertEquals(0, tiny.current().pop(0));
    }

    @Test
    void shouldGiveEveryBlockBackWhenTheCurrentThreadFlushes() {
        ThreadStacks.Stacks mine = stacks.current();
        long a = mine.pop(0);
        long b = mine.pop(1);
        mine.push(0, a);
        mine.push(1, b);
        assertTrue(store.out() > 0);
        stacks.flushCurrent();
        assertEquals(0, store.out());
        assertEquals(0, mine.count(0));
    }

    @Test
    void shouldReturnBlocksOfEndedThreads() throws Exception {
        Thread.ofPlatform().start(() -> {
            ThreadStacks.Stacks theirs = stacks.current();
            theirs.push(0, theirs.pop(0)); // left cached when the thread ends
            theirs.push(1, theirs.pop(1));
        }).join();
        assertTrue(store.out() > 0, "the ended thread's stacks still hold blocks");
        assertTrue(stacks.retireEnded());
        assertEquals(0, store.out(), "every block of the ended thread went back");
        assertEquals(0, stacks.threads());
    }

    @Test
    void shouldReuseBlocksOfEndedThreadsOnceANewThreadArrives() throws Exception {
        ThreadStacks small = new ThreadStacks(new int[] {8}, new Store(1, 4));
        Thread.ofPlatform().start(() -> {
            ThreadStacks.Stacks theirs = small.current();
            long[] all = new long[4];
            for (int i = 0; i < 4; i++) {
                all[i] = theirs.pop(0);
            }
            assertEquals(0, theirs.pop(0), "the store is empty");
            for (long block : all) {
                theirs.push(0, block);
            }
        }).join();
        Set<Long> again = new HashSet<>();
        Thread.ofPlatform().start(() -> {
            // registering retires the ended thread: its four blocks serve this one
            for (int i = 0; i < 4; i++) {
                again.add(small.current().pop(0));
            }
        }).join();
        assertEquals(4, again.size());
        assertTrue(!again.contains(0L), "all four were had again");
    }

    @Test
    void shouldLeakNothingWithThreadChurn() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int i = 0; i < 1000; i++) {
                Thread.ofPlatform().start(() -> {
                    ThreadStacks.Stacks theirs = stacks.current();
                    for (int c = 0; c < 3; c++) {
                        theirs.push(c, theirs.pop(c));
                    }
                }).join();
                assertTrue(stacks.threads() <= 1, "ended threads pile up: " + stacks.threads());
                assertTrue(store.out() <= 4 + 1, "blocks pile up: " + store.out());
            }
        });
        stacks.retireEnded();
        assertEquals(0, store.out(), "every block is back");
    }

    @Test
    void shouldAddUpTalliesOfLiveAndRetiredThreads() throws Exception {
        ThreadStacks.Stacks mine = stacks.current();
        mine.tally(1, 100);
        Thread.ofPlatform().start(() -> stacks.current().tally(1, -30)).join();
        long[] tally = new long[3];
        long[] cached = new long[3];
        stacks.totals(tally, cached);
        assertEquals(70, tally[1]);
        stacks.retireEnded();
        mine.push(0, mine.pop(0));
        stacks.totals(tally, cached);
        assertEquals(70, tally[1], "a retired thread's tally still counts");
        assertEquals(4, cached[0]);
    }

    @Test
    void shouldForgetEveryStackWhenClosed() {
        stacks.current().pop(0);
        stacks.close();
        assertEquals(0, stacks.threads());
        assertEquals(4, store.out(), "nothing given back: the memory is going");
    }
}
