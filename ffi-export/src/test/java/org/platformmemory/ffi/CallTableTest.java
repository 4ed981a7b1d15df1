package org.platformmemory.ffi;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The call table's stubs: one per entry however many threads ask at once (the warm-up thread, the shim's
 * stand-ins on several threads), each written to its slot, which is what the shim's stand-ins read.
 */
class CallTableTest {

    @Test
    void shouldMakeOneStubPerEntryWhenThreadsAskTogether() throws Exception {
        int entries = CallTable.entries().size();
        int threads = 4;
        CyclicBarrier together = new CyclicBarrier(threads + 1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<long[]>> asked = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t * entries / threads; // each thread starts at another entry and goes round
                asked.add(pool.submit(() -> {
                    together.await(10, TimeUnit.SECONDS);
                    long[] stubs = new long[entries];
                    for (int k = 0; k < entries; k++) {
                        int i = (first + k) % entries;
                        stubs[i] = CallTable.entry(i);
                    }
                    return stubs;
                }));
            }
            together.await(10, TimeUnit.SECONDS);
            CallTable.warmUp(); // the warm-up thread asks too
            long[] expected = asked.get(0).get(60, TimeUnit.SECONDS);
            for (Future<long[]> f : asked) {
                long[] got = f.get(60, TimeUnit.SECONDS);
                for (int i = 0; i < entries; i++) {
                    assertNotEquals(0, got[i], "entry " + i + " has a stub");
                    assertEquals(expected[i], got[i], "entry " + i + " has one stub, whoever asked");
                }
            }
            MemorySegment table = MemorySegment.ofAddress(CallTable.address()).reinterpret((entries + 1L) * Long.BYTES);
            assertEquals(entries, table.getAtIndex(JAVA_LONG, 0), "the table starts with its entry count");
            for (int i = 0; i < entries; i++) {
                assertEquals(expected[i], table.getAtIndex(JAVA_LONG, i + 1L), "entry " + i + "'s slot holds its stub");
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
