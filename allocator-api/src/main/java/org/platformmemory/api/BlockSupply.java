package org.platformmemory.api;

import org.platformmemory.api.internal.Accounting;
import org.platformmemory.api.internal.BlockHeader;
import org.platformmemory.api.internal.CheckedBackend;
import org.platformmemory.api.internal.LiveBlocks;
import org.platformmemory.api.internal.PointerDiagnosis;
import org.platformmemory.api.internal.TagTable;
import org.platformmemory.api.kit.NativeMemory;

/**
 * Blocks lent in batches to a cache in front of the facade, such as the C shim's per-thread caches,
 * which hands them out and takes them back without calling the facade, keeps its own header in the
 * block's header room, and counts what it does itself ({@link Counts}). The backend still provides every
 * block, so it still decides where blocks live.
 *
 * <p>Lent blocks count in the peak at their full block size while lent (so {@link TrackedAllocator#peakBytes()}
 * is then an upper bound: it may exceed the true peak by the bytes lent but not handed out, and by the
 * rounding of handed-out blocks to their block sizes), and not in the live bytes and blocks, where the
 * cache's own {@link Counts} stand instead. Lending is offered only in {@link Tracking#COUNTERS} mode
 * without a budget ({@link #available()}): sites, guards and an exact budget need every call. Thread-safe.
 */
public final class BlockSupply {

    /** Counts the cache keeps of its own calls, summed over its threads. */
    @FunctionalInterface
    public interface Counts {
        /**
         * Writes live bytes, live blocks, allocations, frees and reallocations (in that order; each may
         * be negative where the cache takes back what the facade counted for it) into {@code into[0..4]}.
         */
        void read(long[] into);

        /**
         * Writes the cache's figures per tag (allocations, frees, bytes in, bytes out; four per tag id, for
         * {@code into.length / 4} ids), summed over its threads. None by default.
         */
        default void readTags(long[] into) {
        }

        /** Ends the cache's frame: the most its live bytes rose within it (each thread's rise, summed). */
        default long endFrame() {
            return 0;
        }

        /** Tag {@code id} has a budget now ({@code budgeted}) or no longer: its allocations take the facade's path. */
        default void budgetChanged(int id, boolean budgeted) {
        }
    }

    /** {@link #freeIfLive}: a live block of the facade's, freed. */
    public static final long FREED = 0;
    /** {@link #freeIfLive}, {@link #reallocateIfLive}: a pointer the facade knows nothing of (odd: never a block). */
    public static final long UNKNOWN = 1;
    /** {@link #freeIfLive}, {@link #reallocateIfLive}: not live, but the facade can say what is wrong with it. */
    public static final long KNOWN = 3;

    /** The room before each lent block that the cache may use for its own header. */
    public static final long HEADER_ROOM = 16;

    /** Each thread's buffer for a batch's addresses (a batch larger than it goes in pieces). */
    private static final ThreadLocal<long[]> SCRATCH = ThreadLocal.withInitial(() -> new long[512]);

    private static final Counts NONE = into -> java.util.Arrays.fill(into, 0, 5, 0L);

    private final TrackedAllocator owner;
    private final LiveBlocks live;
    private final PointerDiagnosis diagnosis;
    private final Accounting accounting;
    private final CheckedBackend backend;
    private final boolean available;
    private final TagTable tags;
    private final Insights insights;
    private volatile Counts counts = NONE;

    BlockSupply(TrackedAllocator owner, LiveBlocks live, PointerDiagnosis diagnosis, Accounting accounting,
                CheckedBackend backend, BlockHeader header, Tracking tracking, TagTable tags, Insights insights) {
        this.tags = tags;
        this.insights = insights;
        this.owner = owner;
        this.live = live;
        this.diagnosis = diagnosis;
        this.accounting = accounting;
        this.backend = backend;
        this.available = tracking == Tracking.COUNTERS && accounting.limit() == 0
            && header.offsetFor(Allocator.MIN_ALIGNMENT) == HEADER_ROOM;
    }

    /** Whether blocks may be lent: {@code counters} tracking and no budget. */
    public boolean available() {
        return available;
    }

    /**
     * Lends up to {@code count} blocks of {@code blockSize} usable bytes each, 16-byte aligned with
     * {@link #HEADER_ROOM} bytes before each that the borrower may write, writing their addresses as
     * 64-bit words to native memory at {@code out}. Failures (no memory) are not reported: the borrower
     * falls back to the facade, which reports them.
     *
     * @return how many were lent (0 when not {@link #available()} or closed)
     */
    public int lend(long blockSize, long out, int count) {
        if (!available || owner.isClosed() || blockSize <= 0 || blockSize > Allocator.MAX_BLOCK_SIZE / 2) {
            return 0;
        }
        Allocator source = backend.backend();
        long[] blocks = SCRATCH.get();
        int lent = 0;
        while (lent < count) {
            int want = Math.min(count - lent, blocks.length);
            int made = backend.allocateBatch(source, blockSize + HEADER_ROOM, blocks, want);
            for (int i = 0; i < made; i++) {
                blocks[i] += HEADER_ROOM;
            }
            NativeMemory.putLongs(out + 8L * lent, blocks, made);
            lent += made;
            if (made < want) {
                break;
            }
        }
        accounting.lend(blockSize * lent); // once per batch: one atomic update, not one per block
        return lent;
    }

    /** Takes back {@code count} lent blocks of {@code blockSize} bytes, whose addresses are at {@code in}. */
    public void takeBack(long blockSize, long in, int count) {
        if (owner.isClosed()) {
            return; // their memory goes with the backend
        }
        Allocator source = backend.backend();
        long[] blocks = SCRATCH.get();
        for (int done = 0; done < count; ) {
            int n = Math.min(count - done, blocks.length);
            NativeMemory.getLongs(in + 8L * done, blocks, n);
            for (int i = 0; i < n; i++) {
                blocks[i] -= HEADER_ROOM;
            }
            backend.freeBatch(source, blockSize + HEADER_ROOM, blocks, n);
            done += n;
        }
        accounting.lend(-blockSize * count);
    }

    /**
     * For a pointer the borrower does not know: frees it as {@link TrackedAllocator#free} does if it is a
     * live block of the facade's and returns {@link #FREED}. Otherwise nothing is done or reported: it
     * returns {@link #KNOWN} when the facade can tell what is wrong with it (inside one of its live blocks,
     * or freed by it a moment ago; {@link TrackedAllocator#free} then reports it), else {@link #UNKNOWN}.
     */
    public long freeIfLive(long address, long size) {
        if (facadeAnswers(address)) {
            owner.free(address, size);
            return FREED;
        }
        return knownOrUnknown(address);
    }

    /**
     * As {@link #freeIfLive}, for {@link TrackedAllocator#reallocate}: its result for a live block of the
     * facade's, else {@link #KNOWN} or {@link #UNKNOWN} (odd, so never a block), with nothing done.
     */
    public long reallocateIfLive(long address, long oldSize, long newSize) {
        if (facadeAnswers(address)) {
            return owner.reallocate(address, oldSize, newSize);
        }
        return knownOrUnknown(address);
    }

    // a live block of the facade's, or a call the closed facade refuses itself
    private boolean facadeAnswers(long address) {
        return owner.isClosed() || live.sizeOf(address) != 0;
    }

    private long knownOrUnknown(long address) {
        return diagnosis.knows(address) ? KNOWN : UNKNOWN;
    }

    /** Bytes lent now and not taken back. */
    public long lentBytes() {
        return accounting.lentBytes();
    }

    /** Sets where the borrower's own counts are read, added to the facade's statistics. */
    public void setCounts(Counts counts) {
        Counts now = counts == null ? NONE : counts;
        this.counts = now;
        tags.setExternal(counts == null ? null : now::readTags);
        insights.setFrameSource(counts == null ? null : now::endFrame);
        tags.onBudgetChange(counts == null ? null : id -> now.budgetChanged(id, tags.budgeted(id)));
        if (counts != null) {
            for (int id = 0; id < tags.size(); id++) {
                if (tags.budgeted(id)) {
                    now.budgetChanged(id, true);
                }
            }
        }
    }

    /** One of the borrower's counts now (the index of {@link Counts#read}); 0 without a borrower. */
    long count(int which) {
        Counts c = counts;
        if (c == NONE) {
            return 0;
        }
        long[] into = new long[5];
        c.read(into);
        return into[which];
    }
}
