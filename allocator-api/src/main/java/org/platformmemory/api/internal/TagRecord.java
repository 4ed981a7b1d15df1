package org.platformmemory.api.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.platformmemory.api.kit.FieldHandles;

/**
 * One allocation tag's state in the {@link TagTable}: what the facade's Java path counts for it (one
 * atomic live total, so a hard budget is exact), its peak, its budgets, and the live bytes a cache in
 * front of the facade last reported for it. Untagged (id 0) keeps a live total only while it has a budget.
 */
final class TagRecord {
    private static final VarHandle PEAK = FieldHandles.field(MethodHandles.lookup(), TagRecord.class, "peak", long.class);

    final int id;
    final String name;
    final AtomicLong live = new AtomicLong();
    /** The most this tag has had live ({@link #raisePeak}). */
    volatile long peak;
    final LongAdder allocations = new LongAdder();
    final LongAdder frees = new LongAdder();
    final AtomicBoolean overSoft = new AtomicBoolean();
    volatile boolean budgeted;
    volatile long soft;
    volatile long hard;
    /** The cache's live bytes of this tag when last read (it only falls while the tag has a budget). */
    volatile long externalLive;
    /** The number of the read {@link #externalLive} came from. */
    private long externalStamp;

    TagRecord(int id, String name) {
        this.id = id;
        this.name = name;
    }

    /**
     * Takes {@code live} from the read of the cache numbered {@code stamp} (numbered as reads start) unless a
     * read that started later was taken already: a slow read on another thread (a frame mark, the keeper's
     * warm-up) must not put back a figure older than the one a budget was just set with. Returns the figure kept.
     */
    synchronized long observeExternal(long live, long stamp) {
        if (stamp > externalStamp) {
            externalStamp = stamp;
            externalLive = live;
        }
        return externalLive;
    }

    void raisePeak(long candidate) {
        Accounting.raise(this, PEAK, candidate);
    }
}
