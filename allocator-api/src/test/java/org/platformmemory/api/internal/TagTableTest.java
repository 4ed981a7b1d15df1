package org.platformmemory.api.internal;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tag table's view of a cache in front of the facade (the shim's per-tag figures). */
class TagTableTest {

    /** A cache whose tag 1 has {@code live} bytes out; a read can be held half-way to play a slow reader. */
    private static final class Cache implements TagTable.External {
        final AtomicLong live = new AtomicLong();
        volatile CountDownLatch hold;
        final CountDownLatch holding = new CountDownLatch(1);

        @Override
        public void readTags(long[] into) {
            into[TagTable.EXTERNAL_FIGURES + 2] = live.get(); // tag 1's bytes in; nothing out
            CountDownLatch h = hold;
            if (h != null) {
                holding.countDown();
                try {
                    h.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Test
    void aSlowReadOnAnotherThreadDoesNotUndoTheFigureABudgetWasSetWith() throws Exception {
        TagTable tags = new TagTable(new ErrorReporter(), () -> new long[5]);
        Cache cache = new Cache();
        tags.setExternal(cache);
        assertEquals(1, tags.intern("audio"));
        // a frame mark on another thread reads the cache before the game's block goes out, and is slow
        cache.hold = new CountDownLatch(1);
        Thread frameMark = new Thread(tags::totals);
        frameMark.start();
        assertTrue(cache.holding.await(10, TimeUnit.SECONDS));
        CountDownLatch release = cache.hold;
        cache.hold = null;
        // meanwhile the game's thread allocates 1000 bytes under the tag through the cache, then sets budgets
        cache.live.set(1000);
        tags.setBudget("audio", 0, 2500);
        release.countDown();
        frameMark.join(10_000);
        assertFalse(frameMark.isAlive());
        // the slow read saw 0 bytes out; had it overwritten the 1000, a 1600-byte block would fit the 2500
        assertTrue(tags.charge(1, 1000, true), "1000 + 1000 fits 2500");
        assertFalse(tags.charge(1, 600, true), "1000 + 1000 + 600 is over 2500: refused");
    }

    @Test
    void aNewerReadReplacesTheFigureAsTheCacheFrees() {
        TagTable tags = new TagTable(new ErrorReporter(), () -> new long[5]);
        Cache cache = new Cache();
        tags.setExternal(cache);
        tags.intern("audio");
        cache.live.set(2000);
        tags.setBudget("audio", 0, 2500);
        assertFalse(tags.charge(1, 1000, true), "2000 out through the cache + 1000 is over 2500");
        cache.live.set(0); // the cache's blocks of the tag were freed
        tags.totals();
        assertTrue(tags.charge(1, 1000, true), "a later read sees them gone");
    }
}
