package org.platformmemory.api.internal;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.platformmemory.api.ErrorCode;

/**
 * The facade's byte budget and the counters that are not counted by the live-block set: live bytes,
 * their peak, failed allocations, and the free-memory figures derived from them.
 *
 * <p>Live bytes are one atomic total so that the budget ({@code allocator.limit}) is exact: a reservation
 * that would cross it fails without ever being visible. Thread-safe.
 */
public final class Accounting {

    private final long limit;
    private final ErrorReporter errors;
    private final AtomicLong liveBytes = new AtomicLong();
    private final AtomicLong peakBytes = new AtomicLong();
    private final AtomicLong lentBytes = new AtomicLong();
    /** The most live bytes have been since the frame began ({@link #restartFramePeak}); kept once frames are. */
    private final AtomicLong framePeak = new AtomicLong();
    /** Whether frames are marked: until the first mark, the first frame's peak is the peak itself. */
    private volatile boolean framing;
    private final LongAdder failedAllocations = new LongAdder();

    /** @param limit the byte budget, or 0 for none */
    public Accounting(long limit, ErrorReporter errors) {
        this.limit = limit;
        this.errors = errors;
    }

    /** Adds {@code bytes} to the live total within the budget; returns the new total, or -1 if it would not fit. */
    public long reserve(long bytes) {
        if (limit == 0) {
            return liveBytes.addAndGet(bytes);
        }
        long current;
        do {
            current = liveBytes.get();
            if (bytes > limit - current) {
                return -1;
            }
        } while (!liveBytes.compareAndSet(current, current + bytes));
        return current + bytes;
    }

    /** Adds {@code bytes} (negative to give back) to the live total, whatever the budget; returns the new total. */
    public long add(long bytes) {
        return liveBytes.addAndGet(bytes);
    }

    /** Takes back an {@link #add} or {@link #reserve} of {@code bytes} whose allocation then failed (not a free). */
    public void undo(long bytes) {
        liveBytes.addAndGet(-bytes);
    }

    /** Raises the peak to {@code liveTotal} (live bytes, as {@link #reserve} returned them) plus the bytes lent, if higher. */
    public void raisePeak(long liveTotal) {
        raisePeakTo(liveTotal + lentBytes.get());
        if (framing) {
            raise(framePeak, liveTotal);
        }
    }

    /** The most live bytes have been since the last call (or the start); the next frame starts from now. */
    public long restartFramePeak() {
        long live = liveBytes.get();
        if (!framing) {
            framing = true; // the frame since the start: its peak is the peak so far (with bytes lent: at least it)
            framePeak.set(live);
            return Math.max(live, peakBytes.get());
        }
        return Math.max(live, framePeak.getAndSet(live));
    }

    private void raisePeakTo(long candidate) {
        raise(peakBytes, candidate);
    }

    /** Raises {@code maximum} to {@code candidate} if that is higher (a compare-and-set only when it is). */
    static void raise(AtomicLong maximum, long candidate) {
        long now;
        while (candidate > (now = maximum.get()) && !maximum.compareAndSet(now, candidate)) {
            Thread.onSpinWait();
        }
    }

    /**
     * Counts bytes lent to a cache in front of the facade (negative: taken back). They are not live bytes:
     * the cache counts what it hands out; but the peak includes them, so it stays an upper bound.
     */
    public void lend(long bytes) {
        long lent = lentBytes.addAndGet(bytes);
        if (bytes > 0) {
            raisePeakTo(liveBytes.get() + lent);
        }
    }

    /** Bytes lent now ({@link #lend}). */
    public long lentBytes() {
        return lentBytes.get();
    }

    /** Counts a failed allocation that has been reported already. */
    public void countFailure() {
        failedAllocations.increment();
    }

    /** Counts and reports a failed allocation ({@link ErrorCode#ALLOCATION_FAILED}); returns 0 for the caller to return. */
    public long fail(long size, String op, String why) {
        failedAllocations.increment();
        errors.report(ErrorCode.ALLOCATION_FAILED, op + "(" + size + " bytes) failed: " + why, 0);
        return 0;
    }

    /** {@link #fail} for a reservation the budget refused. */
    public long failOverBudget(long size, String op) {
        return fail(size, op, "the budget allocator.limit=" + limit + " has " + (limit - liveBytes.get()) + " bytes left");
    }

    /** The facade's totals for its tags, from this and its live-block set (bytes freed: bytes in less live bytes). */
    public TagTable.JavaTotals totals(LiveBlockSet blocks) {
        return () -> {
            long live = liveBytes.get();
            long in = blocks.bytesIn();
            return new long[] {live, blocks.count(LiveBlockSet.ALLOCATED), blocks.count(LiveBlockSet.FREED), in, in - live};
        };
    }

    /** Bytes requested by live blocks. */
    public long liveBytes() {
        return liveBytes.get();
    }

    /** The most {@link #liveBytes()} has been. */
    public long peakBytes() {
        return peakBytes.get();
    }

    /** Allocations that returned 0 because memory or budget ran out, or the size or alignment was bad. */
    public long failedAllocations() {
        return failedAllocations.sum();
    }

    /** The byte budget, or 0 when there is none. */
    public long limit() {
        return limit;
    }

    /** The budget minus live bytes when there is a budget, else what the operating system reports as available. */
    public long ramFree() {
        return limit > 0 ? Math.max(0, limit - liveBytes.get()) : SystemMemory.available();
    }

    /** The budget when there is one, else the machine's (or container's) total memory. */
    public long ramTotal() {
        return limit > 0 ? limit : SystemMemory.total();
    }
}
