package org.platformmemory.api.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.kit.FieldHandles;

/**
 * The facade's byte budget and the counters that are not counted by the live-block set: live bytes,
 * their peak, failed allocations, and the free-memory figures derived from them.
 *
 * <p>Live bytes are one atomic total so that the budget ({@code allocator.limit}) is exact: a reservation
 * that would cross it fails without ever being visible. Thread-safe.
 */
public final class Accounting {

    // the totals are fields of this object, changed through VarHandles: one load fewer on every call than
    // an AtomicLong each (the facade's allocate reads or changes four of them)
    private static final VarHandle LIVE = field("liveBytes");
    private static final VarHandle PEAK = field("peakBytes");
    private static final VarHandle LENT = field("lentBytes");
    private static final VarHandle FRAME_PEAK = field("framePeak");
    /** On once any facade in the process has lent blocks to a cache, or marked a frame: until then raisePeak reads neither. */
    private static final Sticky LENDING = Sticky.create();
    private static final Sticky FRAMES = Sticky.create();

    private final long limit;
    private final ErrorReporter errors;
    private volatile long liveBytes;
    private volatile long peakBytes;
    private volatile long lentBytes;
    /** The most live bytes have been since the frame began ({@link #restartFramePeak}); kept once frames are. */
    private volatile long framePeak;
    /** Whether frames are marked: until the first mark, the first frame's peak is the peak itself. */
    private volatile boolean framing;
    private final LongAdder failedAllocations = new LongAdder();

    private static VarHandle field(String name) {
        return FieldHandles.field(MethodHandles.lookup(), Accounting.class, name, long.class);
    }

    /** @param limit the byte budget, or 0 for none */
    public Accounting(long limit, ErrorReporter errors) {
        this.limit = limit;
        this.errors = errors;
    }

    /** Adds {@code bytes} to the live total within the budget; returns the new total, or -1 if it would not fit. */
    public long reserve(long bytes) {
        if (limit == 0) {
            return (long) LIVE.getAndAdd(this, bytes) + bytes;
        }
        long current;
        do {
            current = liveBytes;
            if (bytes > limit - current) {
                return -1;
            }
        } while (!LIVE.compareAndSet(this, current, current + bytes));
        return current + bytes;
    }

    /** Adds {@code bytes} (negative to give back) to the live total, whatever the budget; returns the new total. */
    public long add(long bytes) {
        return (long) LIVE.getAndAdd(this, bytes) + bytes;
    }

    /** Takes back an {@link #add} or {@link #reserve} of {@code bytes} whose allocation then failed (not a free). */
    public void undo(long bytes) {
        LIVE.getAndAdd(this, -bytes);
    }

    /** Raises the peak to {@code liveTotal} (live bytes, as {@link #reserve} returned them) plus the bytes lent, if higher. */
    public void raisePeak(long liveTotal) {
        raise(this, PEAK, LENDING.on() ? liveTotal + lentBytes : liveTotal);
        if (FRAMES.on() && framing) {
            raise(this, FRAME_PEAK, liveTotal);
        }
    }

    /** The most live bytes have been since the last call (or the start); the next frame starts from now. */
    public long restartFramePeak() {
        long live = liveBytes;
        if (!framing) {
            FRAMES.turnOn();
            framing = true; // the frame since the start: its peak is the peak so far (with bytes lent: at least it)
            framePeak = live;
            return Math.max(live, peakBytes);
        }
        return Math.max(live, (long) FRAME_PEAK.getAndSet(this, live));
    }

    /**
     * Raises the {@code long} field of {@code owner} reached through {@code field} (a maximum: the peaks
     * here and {@link TagRecord}'s) to {@code candidate} if that is higher (a compare-and-set only when it is).
     */
    static void raise(Object owner, VarHandle field, long candidate) {
        long now;
        while (candidate > (now = (long) field.getVolatile(owner)) && !field.compareAndSet(owner, now, candidate)) {
            Thread.onSpinWait();
        }
    }

    /**
     * Counts bytes lent to a cache in front of the facade (negative: taken back). They are not live bytes:
     * the cache counts what it hands out; but the peak includes them, so it stays an upper bound.
     */
    public void lend(long bytes) {
        LENDING.turnOn();
        long lent = (long) LENT.getAndAdd(this, bytes) + bytes;
        if (bytes > 0) {
            raise(this, PEAK, liveBytes + lent);
        }
    }

    /** Bytes lent now ({@link #lend}). */
    public long lentBytes() {
        return lentBytes;
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
        return fail(size, op, "the budget allocator.limit=" + limit + " has " + (limit - liveBytes) + " bytes left");
    }

    /** The facade's totals for its tags, from this and its live-block set (bytes freed: bytes in less live bytes). */
    public TagTable.JavaTotals totals(LiveBlockSet blocks) {
        return () -> {
            long live = liveBytes;
            long in = blocks.bytesIn();
            return new long[] {live, blocks.count(LiveBlockSet.ALLOCATED), blocks.count(LiveBlockSet.FREED), in, in - live};
        };
    }

    /** Bytes requested by live blocks. */
    public long liveBytes() {
        return liveBytes;
    }

    /** The most {@link #liveBytes()} has been. */
    public long peakBytes() {
        return peakBytes;
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
        return limit > 0 ? Math.max(0, limit - liveBytes) : SystemMemory.available();
    }

    /** The budget when there is one, else the machine's (or container's) total memory. */
    public long ramTotal() {
        return limit > 0 ? limit : SystemMemory.total();
    }
}
