package org.platformmemory.api.internal;

import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.contract.RecordingErrorHandler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AccountingTest {

    private final ErrorReporter errors = new ErrorReporter();
    private final RecordingErrorHandler handler = new RecordingErrorHandler();

    @BeforeEach
    void listen() {
        errors.setHandler(handler);
    }

    @Test
    void shouldGiveTheTagsTotalsWithTheBytesFreedAsBytesInLessLiveBytes() {
        Accounting accounting = new Accounting(0, errors);
        LiveBlockSet blocks = new LiveBlockSet(4);
        // two blocks of 100 and 50 bytes; the first grows to 130, the second is freed
        accounting.reserve(100);
        blocks.add(0x1000, LiveBlockSet.ALLOCATED, 100, 100);
        accounting.reserve(50);
        blocks.add(0x2000, LiveBlockSet.ALLOCATED, 50, 50);
        blocks.remove(0x1000, LiveBlockSet.NONE);
        accounting.reserve(30);
        blocks.add(0x1000, LiveBlockSet.REALLOCATED, 130, 30);
        blocks.remove(0x2000, LiveBlockSet.FREED);
        accounting.add(-50);
        // and a shrink of the first to 120 bytes: 10 bytes out, nothing in
        blocks.remove(0x1000, LiveBlockSet.NONE);
        accounting.add(-10);
        blocks.add(0x1000, LiveBlockSet.REALLOCATED, 120, 0);
        // live, allocated, freed, bytes in, bytes out
        assertEquals(List.of(120L, 2L, 1L, 180L, 60L),
            java.util.Arrays.stream(accounting.totals(blocks).read()).boxed().toList());
    }

    @Test
    void shouldRefuseAReservationThatWouldCrossTheBudget() {
        Accounting accounting = new Accounting(100, errors);
        assertEquals(60, accounting.reserve(60));
        assertEquals(-1, accounting.reserve(41));
        assertEquals(60, accounting.liveBytes(), "a refused reservation leaves no trace");
        assertEquals(100, accounting.reserve(40), "exactly up to the budget fits");
        assertEquals(-1, accounting.reserve(1));
        assertEquals(100, accounting.liveBytes());
        assertEquals(0, accounting.peakBytes(), "reserving does not move the peak by itself");
        assertEquals(0, accounting.failedAllocations(), "a refusal is counted only when the caller fails the call");
        assertEquals(List.of(), handler.reports());
    }

    @Test
    void shouldNeverRefuseAReservationWithoutABudget() {
        Accounting accounting = new Accounting(0, errors);
        assertEquals(Long.MAX_VALUE / 2, accounting.reserve(Long.MAX_VALUE / 2));
        assertEquals(Long.MAX_VALUE / 2 + 10, accounting.reserve(10));
        assertEquals(10, accounting.add(-(Long.MAX_VALUE / 2)));
        assertEquals(0, accounting.limit());
        assertEquals(0, accounting.failedAllocations());
    }

    @Test
    void shouldHandOutEveryByteOfTheBudgetExactlyOnceWhenTwoThreadsRaceReservations() throws Exception {
        int limit = 50_000;
        Accounting accounting = new Accounting(limit, errors);
        CyclicBarrier start = new CyclicBarrier(2);
        // each thread takes one byte at a time until refused and notes every total it was given
        Callable<BitSet> racer = () -> {
            BitSet totals = new BitSet();
            start.await(10, TimeUnit.SECONDS);
            long total;
            while ((total = accounting.reserve(1)) >= 0) {
                assertTrue(total >= 1 && total <= limit, "total " + total);
                totals.set((int) total);
            }
            return totals;
        };
        List<BitSet> results = race(racer, racer);
        BitSet first = results.get(0);
        BitSet second = results.get(1);
        assertFalse(first.intersects(second), "no total was handed to both threads");
        BitSet all = (BitSet) first.clone();
        all.or(second);
        assertEquals(limit, all.cardinality(), "every byte of the budget was reserved, none twice");
        assertEquals(limit, all.nextClearBit(1) - 1, "the totals are exactly 1.." + limit);
        assertEquals(limit, accounting.liveBytes());
        assertEquals(-1, accounting.reserve(1));
    }

    @Test
    void shouldNeverLetTwoRacingHoldersShareABudgetOnlyOneFits() throws Exception {
        Accounting accounting = new Accounting(10, errors);
        CyclicBarrier start = new CyclicBarrier(2);
        // 7 bytes fit once in a budget of 10, never twice: a reservation must return 7 or be refused
        Callable<long[]> racer = () -> {
            long won = 0;
            long other = 0;
            start.await(10, TimeUnit.SECONDS);
            for (int i = 0; i < 200_000; i++) {
                long total = accounting.reserve(7);
                if (total == 7) {
                    won++;
                    accounting.add(-7);
                } else if (total != -1) {
                    other++;
                }
            }
            return new long[] {won, other};
        };
        List<long[]> results = race(racer, racer);
        assertEquals(0, results.get(0)[1] + results.get(1)[1], "the budget was crossed");
        assertTrue(results.get(0)[0] + results.get(1)[0] > 0);
        assertEquals(0, accounting.liveBytes(), "every reservation was given back");
    }

    @Test
    void shouldKeepThePeakAtTheTrueMaximumOfASequence() {
        Accounting accounting = new Accounting(5_000, errors);
        SplittableRandom random = new SplittableRandom(7);
        long live = 0;
        long max = 0;
        for (int i = 0; i < 10_000; i++) {
            if (live > 0 && random.nextInt(3) == 0) {
                long back = random.nextLong(1, live + 1);
                live -= back;
                assertEquals(live, accounting.add(-back));
            } else {
                long bytes = random.nextLong(1, 1_000);
                long total = accounting.reserve(bytes);
                if (live + bytes > 5_000) {
                    assertEquals(-1, total, "step " + i);
                } else {
                    live += bytes;
                    max = Math.max(max, live);
                    assertEquals(live, total, "step " + i);
                    accounting.raisePeak(total);
                }
            }
            assertEquals(max, accounting.peakBytes(), "step " + i);
        }
        accounting.raisePeak(max - 1);
        assertEquals(max, accounting.peakBytes(), "a lower total never lowers the peak");
    }

    @Test
    void shouldCountAndReportAFailureAsTheSystemsNotTheCallers() {
        Accounting accounting = new Accounting(0, errors);
        accounting.reserve(32);
        assertEquals(0, accounting.fail(64, "allocate", "no memory"));
        assertEquals(1, accounting.failedAllocations());
        assertEquals(List.of(new RecordingErrorHandler.Report(ErrorCode.ALLOCATION_FAILED,
            "allocate(64 bytes) failed: no memory", 0)), handler.reports());
        assertEquals(0, errors.callerErrors());
        accounting.countFailure();
        assertEquals(2, accounting.failedAllocations());
        assertEquals(1, handler.reports().size(), "countFailure only counts");
        assertEquals(32, accounting.liveBytes(), "failing touches no live bytes");
    }

    @Test
    void shouldNameTheBudgetAndWhatIsLeftOfItWhenItRefuses() {
        Accounting accounting = new Accounting(100, errors);
        accounting.reserve(60);
        assertEquals(0, accounting.failOverBudget(50, "reallocate"));
        assertEquals("reallocate(50 bytes) failed: the budget allocator.limit=100 has 40 bytes left",
            handler.last().message());
        assertEquals(ErrorCode.ALLOCATION_FAILED, handler.last().error());
        assertEquals(1, accounting.failedAllocations());
    }

    @Test
    void shouldReportWhatIsLeftOfTheBudgetAsFreeRamAndNeverLessThanZero() {
        Accounting accounting = new Accounting(100, errors);
        accounting.reserve(30);
        assertEquals(70, accounting.ramFree());
        assertEquals(100, accounting.ramTotal());
        accounting.add(90); // add ignores the budget, as a reallocation already reserved does
        assertEquals(120, accounting.liveBytes());
        assertEquals(0, accounting.ramFree());
        Accounting unlimited = new Accounting(0, errors);
        assertEquals(SystemMemory.total(), unlimited.ramTotal());
        assertTrue(unlimited.ramFree() > 0);
    }

    /** Runs two racers on two threads; each must finish within a minute. */
    private static <T> List<T> race(Callable<T> one, Callable<T> two) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<T>> futures = List.of(pool.submit(one), pool.submit(two));
            List<T> out = new java.util.ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(60, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }
}
