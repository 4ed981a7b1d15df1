package org.platformmemory.api;

import java.time.Duration;

import org.platformmemory.api.internal.Accounting;
import org.platformmemory.api.internal.BlockPlacement;
import org.platformmemory.api.internal.BlockRelease;
import org.platformmemory.api.internal.ErrorReporter;
import org.platformmemory.api.internal.HeapRecord;
import org.platformmemory.api.internal.HeapRegistry;
import org.platformmemory.api.internal.PointerDiagnosis;
import org.platformmemory.api.internal.Quarantine;
import org.platformmemory.api.internal.SiteTable;
import org.platformmemory.api.internal.TagTable;
import org.platformmemory.api.kit.CHeap;
import org.platformmemory.api.kit.Pages;
import org.platformmemory.api.view.LiveView;

/**
 * The allocator C and Java callers use: a backend behind exact statistics, caller-error detection, a
 * byte budget, leak tracking and debug guards. The C ABI maps one to one onto its methods.
 *
 * <p>Every block carries a small header just before it, so {@link #free} and {@link #reallocate} work
 * with size 0 ("unknown") and need no map from address to size. A lock-striped set of live addresses
 * decides whether a pointer is ours before any of its memory is touched, so a double free, a foreign or
 * interior pointer is reported and nothing is freed twice or corrupted.
 *
 * <p>No method throws on bad input: each returns 0 (or does nothing), counts the error, logs it and
 * tells the {@link ErrorHandler}. In {@link Tracking#COUNTERS} mode the allocate/free/reallocate paths
 * do no Java-heap allocation. All methods are thread-safe. Calls made after {@link #close} are refused;
 * {@link #close(Duration)} also lets calls already under way on other threads finish first.
 *
 * <p>This class is the block protocol and the lifecycle; its statistics, reports, sites, self-running
 * checks and error routing are inherited from {@code FacadeFigures}, and the concerns behind both have rooms of their own (see
 * {@code docs/architecture.md}), none of which calls back into it.
 *
 * <pre>{@code
 * try (TrackedAllocator memory = TrackedAllocator.open(AllocatorConfig.parse("allocator.limit=64m"))) {
 *     long p = memory.allocate(256, MemoryFlags.CLEAR);
 *     memory.free(p, 0);
 * }
 * }</pre>
 */
public final class TrackedAllocator extends FacadeFigures implements AutoCloseable {

    /** The largest alignment a caller may ask for: 1 GiB. */
    public static final long MAX_ALIGNMENT = BlockPlacement.MAX_ALIGNMENT;

    private final HeapRegistry heaps = new HeapRegistry();
    private final BlockRelease release;
    private final BlockPlacement placement;
    private final BlockSupply supply;
    private final Insights insights;
    private final PointerDiagnosis diagnosis;

    // read at the top of every call: a plain load on x86. A Sticky flag here cost more than it saved: its
    // method-handle chain, inlined at both calls of a loop of pairs, made C2 stop inlining the free's tail
    private volatile boolean closed;
    private LiveView view;

    /** The debug quarantine's default bound in bytes ({@link AllocatorConfig#QUARANTINE}). */
    public static final long DEFAULT_QUARANTINE = 32L << 20;


    private TrackedAllocator(Allocator backend, Tracking tracking, long limit, long quarantineBytes, int quarantineBlocks,
                             long sampleBytes) {
        super(backend, tracking, limit, quarantineBytes, quarantineBlocks, sampleBytes);
        this.diagnosis = new PointerDiagnosis(blocks, header, errors, quarantine);
        TagTable tags = new TagTable(errors, accounting.totals(blocks));
        this.insights = new Insights(this, tags, accounting);
        this.release = new BlockRelease(blocks, header, accounting, errors, tracker, this.backend, heaps, diagnosis,
            quarantine, tags);
        this.placement = new BlockPlacement(blocks, header, accounting, errors, tracker, this.backend, heaps, release,
            tags);
        this.supply = new BlockSupply(this, live, diagnosis, accounting, this.backend, header, tracking, tags, insights);
        if (tracking != Tracking.COUNTERS) {
            errors.lookUpSites(blocks, header, tracker);
        }
        org.platformmemory.api.jfr.MemoryEvents.register(this);
    }

    /**
     * Creates the backend {@code config} selects and puts the facade in front of it.
     *
     * @throws InvalidConfigException for an unknown backend or a malformed setting; the message names
     *                                the key, the value and what is allowed
     */
    public static TrackedAllocator open(AllocatorConfig config) {
        return open(config, null);
    }

    /**
     * {@link #open(AllocatorConfig)}, with the informational lines (such as the live view's address) going
     * to {@code log} from the start, as {@link #logTo} would send them; {@code null}: {@code System.Logger}.
     */
    public static TrackedAllocator open(AllocatorConfig config, java.util.function.Consumer<String> log) {
        Tracking tracking = config.choice(AllocatorConfig.TRACKING, Tracking.class, Tracking.COUNTERS);
        long limit = config.bytes(AllocatorConfig.LIMIT, 0, 0, Long.MAX_VALUE);
        long quarantineBytes = config.bytes(AllocatorConfig.QUARANTINE, DEFAULT_QUARANTINE, 0, Long.MAX_VALUE);
        int quarantineBlocks = config.integer(AllocatorConfig.QUARANTINE_BLOCKS, Quarantine.DEFAULT_BLOCKS, 1,
            Integer.MAX_VALUE / 4);
        LogLevel level = config.choice(AllocatorConfig.LOG, LogLevel.class, LogLevel.ERRORS);
        long sample = config.bytes(AllocatorConfig.SAMPLE, 0, 0, Integer.MAX_VALUE);
        long breakAlloc = config.bytes(AllocatorConfig.BREAK_ALLOC, 0, 0, Long.MAX_VALUE);
        long checkEvery = config.bytes(AllocatorConfig.CHECK_EVERY, 0, 0, Long.MAX_VALUE);
        LeakReport leakReport = config.choice(AllocatorConfig.LEAK_REPORT, LeakReport.class, LeakReport.OFF);
        java.net.InetSocketAddress viewAt = LiveView.option(config);
        TrackedAllocator opened = new TrackedAllocator(Backends.create(config), tracking, limit, quarantineBytes,
            quarantineBlocks, sample);
        opened.checkByThemselves(breakAlloc, checkEvery, leakReport == LeakReport.EXIT);
        opened.errors.setLevel(level);
        opened.errors.logTo(log);
        opened.view = LiveView.start(viewAt, opened, opened.errors::inform);
        return opened;
    }

    /** {@link #open(AllocatorConfig)} with the system properties and environment. */
    public static TrackedAllocator open() {
        return open(AllocatorConfig.fromEnvironment());
    }

    /**
     * Puts the facade in front of a backend the caller created (tests, embedders). The facade owns it
     * from now on and closes it on {@link #close}.
     */
    public static TrackedAllocator wrap(Allocator backend, Tracking tracking, long limit) {
        if (limit < 0) {
            throw new InvalidConfigException(AllocatorConfig.LIMIT + ": '" + limit + "' is negative; use 0 for no limit");
        }
        return new TrackedAllocator(backend, tracking, limit, DEFAULT_QUARANTINE, Quarantine.DEFAULT_BLOCKS, 0);
    }

    // ---- Allocation -----------------------------------------------------------------------------

    /** {@link #allocate(long, int, long, int)} with 16-byte alignment and the caller as the site. */
    public long allocate(long size, int flags) {
        return allocate(size, flags, Allocator.MIN_ALIGNMENT, SiteTable.NONE);
    }

    /** {@link #allocate(long, int, long, int)} with the caller as the site. */
    public long allocate(long size, int flags, long alignment) {
        return allocate(size, flags, alignment, SiteTable.NONE);
    }

    /**
     * Allocates a block.
     *
     * @param size      bytes; 0 returns 0 and is not an error. Negative values are C sizes above
     *                  {@code Long.MAX_VALUE} and are reported as {@link ErrorCode#SIZE_OVERFLOW}
     * @param flags     {@link MemoryFlags}: {@code CLEAR} zeroes the block, the others are kept
     * @param alignment a power of two up to {@link #MAX_ALIGNMENT}; values below 16 mean 16
     * @param site      a site from {@link #site(String, int)}, or 0 for "the Java caller" (recorded only
     *                  when tracking leaks)
     * @return the block's address, or 0 on failure (counted and reported)
     */
    public long allocate(long size, int flags, long alignment, int site) {
        if (closed || size <= 0 || alignment != Allocator.MIN_ALIGNMENT) {
            return allocateChecked(null, size, flags, alignment, site);
        }
        return placement.place(null, size, flags, BlockPlacement.MIN_ALIGNMENT_LOG2, site);
    }

    /** The allocate path for the rare cases: closed, size 0 or negative, other alignments, private heaps. */
    long allocateChecked(HeapRecord heap, long size, int flags, long alignment, int site) {
        if (closed) {
            return rejectClosed("allocate");
        }
        if (size == 0) {
            return 0;
        }
        int alignLog2 = placement.alignmentLog2(alignment);
        if (alignLog2 < 0) {
            accounting.countFailure();
            return 0;
        }
        return placement.place(heap, size, flags, alignLog2, site);
    }

    /** {@link #free(long, long)} of a C caller whose call stack is {@code site} ({@code debug} records it). */
    public void free(long address, long size, int site) {
        tracker.freeingAt(site);
        try {
            free(address, size);
        } finally {
            tracker.freeingAt(SiteTable.NONE);
        }
    }

    /** Tells the tracker the site of the free the calling thread is about to make ({@link #free(long, long, int)}). */
    void freeingAt(int site) {
        tracker.freeingAt(site);
    }

    // ---- Free and reallocate --------------------------------------------------------------------

    /**
     * Frees a block. {@code address == 0} does nothing.
     *
     * @param size the size the block was allocated with, or 0 for "unknown"; a different non-zero size
     *             is reported as {@link ErrorCode#SIZE_MISMATCH} and the recorded size is used
     */
    public void free(long address, long size) {
        if (address == 0) {
            return;
        }
        if (closed) {
            rejectClosed("free");
            return;
        }
        release.free(address, size);
    }

    /** {@link #reallocate(long, long, long, int)} with no flags. */
    public long reallocate(long address, long oldSize, long newSize) {
        return reallocate(address, oldSize, newSize, 0);
    }

    /**
     * Resizes a block, keeping its first {@code min(old, new)} bytes; a block of a private heap stays in it.
     *
     * <p>{@code address == 0} allocates; {@code newSize == 0} frees and returns 0. On failure returns 0
     * and the old block is intact and still live.
     *
     * @param oldSize the recorded size, or 0 for "unknown" (a different non-zero size is reported)
     * @param flags   {@code CLEAR} zeroes the bytes the block grows by; the block keeps its own flags
     */
    public long reallocate(long address, long oldSize, long newSize, int flags) {
        if (address == 0) {
            return allocate(newSize, flags);
        }
        if (newSize == 0) {
            free(address, oldSize);
            return 0;
        }
        if (closed) {
            return rejectClosed("reallocate");
        }
        long word0 = release.claim(address, oldSize, true);
        return word0 == 0 ? 0 : placement.resize(address, word0, newSize, flags);
    }

    /** The requested size of a live block; 0 for 0 or for an address that is not a live block of ours. */
    public long sizeOf(long address) {
        if (address == 0 || closed) {
            return 0;
        }
        return live.sizeOf(address);
    }

    // ---- Pages --------------------------------------------------------------------------------

    /**
     * Discards part of a live block ({@code VirtualFree} with {@code MEM_DECOMMIT}): afterwards the bytes
     * {@code [offset, offset + length)} of the block at {@code address} read as zero, and the whole pages
     * among them are given back to the system ({@link Pages#discard}) until they are written again. The
     * block stays live, with its size and its statistics.
     *
     * @param address a live block's start
     * @param offset  where the range starts in the block
     * @param length  the range's bytes; 0 does nothing
     * @return true; false when {@code address} is not a live block or the range is not inside it (reported:
     *         {@link ErrorCode#INVALID_POINTER} and its kin, or {@link ErrorCode#SIZE_MISMATCH}), and nothing
     *         is touched
     */
    public boolean discard(long address, long offset, long length) {
        if (closed) {
            rejectClosed("discard");
            return false;
        }
        long size = address == 0 ? 0 : live.sizeOf(address);
        if (size == 0) {
            diagnosis.reject(address, "discard", false);
            return false;
        }
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            errors.report(ErrorCode.SIZE_MISMATCH, "discard(" + ErrorReporter.hex(address) + ", " + Long.toUnsignedString(offset)
                + ", " + Long.toUnsignedString(length) + "): the range is not inside the block (" + size
                + " bytes); nothing was done", address);
            return false;
        }
        Pages.discard(address + offset, length);
        return true;
    }

    /**
     * Makes ready, ahead of need, what a process's first start and its first blocks would otherwise make on
     * the thread that asks (milliseconds each in a cold JVM): the links to the system calls that map and
     * discard pages, the facade's process-wide flags, and the backends' providers (finding them opens every
     * jar on the class path). For a thread beside the start, which overlaps this with it; idempotent.
     */
    public static void prepare() {
        Pages.link(); // first: a first chunk needs it as soon as the facade is open
        try {
            java.lang.invoke.MethodHandles.lookup().ensureInitialized(Accounting.class);
            java.lang.invoke.MethodHandles.lookup().ensureInitialized(TagTable.class);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e); // both are public classes of this module
        }
        Backends.available();
        CHeap.canTrim();
    }

    /**
     * Gives memory that no block uses back to the system: the backend's ({@link Allocator#trim}), then the
     * room the live-block set grew to hold, then the JVM's heap that room took (a full collection, after
     * which the JVM shrinks its heap), then the C library's free pages ({@link CHeap#trim}). After every
     * block is freed, resident memory falls back near where it was before they were allocated. Tens of milliseconds after millions of blocks: for a loading screen,
     * not a frame.
     */
    public void trim() {
        if (closed) {
            rejectClosed("trim");
            return;
        }
        backend.trim();
        blocks.compact();
        System.gc();
        CHeap.trim(); // what the collection and the JIT's compilers gave back to malloc
    }

    // ---- Private heaps --------------------------------------------------------------------------

    /**
     * Creates a private heap ({@code HeapCreate}, see {@link PrivateHeap}), on the backend's own heaps when
     * it has them. Returns null when no more heaps can be created or the backend failed (reported).
     */
    public PrivateHeap createHeap() {
        if (closed) {
            rejectClosed("createHeap");
            return null;
        }
        HeapRecord record = heaps.create(backend, accounting);
        return record == null ? null : new PrivateHeap(this, record, release, live, errors);
    }

    /** Tags, budgets, frames, snapshots and reports of this allocator. */
    public Insights insights() {
        return insights;
    }

    /** Where a cache in front of the facade borrows blocks in batches (the C shim's fast path). */
    @Override
    public BlockSupply supply() {
        return supply;
    }

    // ---- Lifecycle ------------------------------------------------------------------------------

    /**
     * Frees every block still live (counted as frees) and closes the backend. Later calls fail with
     * {@link ErrorCode#CLOSED}. Idempotent.
     */
    @Override
    public void close() {
        close(Duration.ZERO);
    }

    /**
     * As {@link #close()}, but gives calls already under way on other threads {@code grace} to finish first,
     * and closes the backend 50 grace periods later, so a call descheduled mid-way never touches unmapped
     * memory: for a host that cannot stop its threads first (a game's audio thread at exit).
     */
    public void close(Duration grace) {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        LiveView.stop(view);
        dropExitHook();
        org.platformmemory.api.jfr.MemoryEvents.unregister(this);
        release.closeAll(grace);
    }

    /** The live view ({@link AllocatorConfig#INSIGHTS}), or null when it is off. */
    public LiveView liveView() {
        return view;
    }

    /** Whether {@link #close} has begun. */
    @Override
    boolean isClosed() {
        return closed;
    }

    long rejectClosed(String op) {
        return errors.rejectClosed(op);
    }
}
