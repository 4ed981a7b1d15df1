package org.platformmemory.api;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.platformmemory.api.internal.Accounting;
import org.platformmemory.api.internal.BlockHeader;
import org.platformmemory.api.internal.CheckedBackend;
import org.platformmemory.api.internal.ErrorReporter;
import org.platformmemory.api.internal.LiveBlocks;
import org.platformmemory.api.internal.LiveBlockSet;
import org.platformmemory.api.internal.Quarantine;
import org.platformmemory.api.internal.SampledBlocks;
import org.platformmemory.api.internal.SiteTable;
import org.platformmemory.api.internal.Tracker;

/**
 * What {@link TrackedAllocator} tells about itself: its statistics (its own and those of a cache in front
 * of it, through {@link BlockSupply}), its reports (live blocks, leaks, heap checks), the sites and numbers
 * they name and the checks that run by themselves (breakAlloc, checkEvery, the exit's), and where its
 * errors go (handler, log level). The rooms both read are made here; the block protocol, which changes them, is
 * {@link TrackedAllocator}'s. Every method is thread-safe and public through {@link TrackedAllocator}.
 */
abstract sealed class FacadeFigures permits TrackedAllocator {

    final Tracking tracking;
    final BlockHeader header;
    final LiveBlockSet blocks;
    final ErrorReporter errors = new ErrorReporter();
    final Accounting accounting;
    final CheckedBackend backend;
    final Tracker tracker;
    final Quarantine quarantine;
    final LiveBlocks live;
    private final java.util.concurrent.atomic.AtomicBoolean exitChecked = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean leakReportAtExit;
    /** The shutdown hook that runs {@link #exitChecks} in a Java host, or null; removed on close. */
    private volatile Thread exitHook;

    FacadeFigures(Allocator backend, Tracking tracking, long limit, long quarantineBytes, int quarantineBlocks,
                  long sampleBytes) {
        this.tracking = tracking;
        this.header = new BlockHeader(tracking);
        this.blocks = new LiveBlockSet(Math.max(16, Runtime.getRuntime().availableProcessors() * 8), header::size);
        this.accounting = new Accounting(limit, errors);
        this.backend = new CheckedBackend(backend, errors);
        this.tracker = Tracker.of(tracking, header, errors,
            tracking == Tracking.COUNTERS && sampleBytes > 0 ? new SampledBlocks(sampleBytes) : null);
        this.quarantine = new Quarantine(tracking == Tracking.DEBUG ? quarantineBytes : 0, quarantineBlocks, header,
            this.backend, tracker, errors);
        this.live = new LiveBlocks(blocks, header, tracker, backend.name(), tracking);
    }

    /** Where a cache in front of the facade borrows blocks; its counts are part of the figures. */
    public abstract BlockSupply supply();

    /** Whether the allocator has begun to close. */
    abstract boolean isClosed();

    // ---- Statistics and reports -----------------------------------------------------------------

    /** Bytes requested by live blocks. */
    public long liveBytes() {
        return accounting.liveBytes() + supply().count(0);
    }

    /** Blocks allocated and not yet freed. */
    public long liveBlocks() {
        // the live set itself, stripe by stripe: while other threads work, off by at most the blocks
        // they are moving at that moment (a difference of two running totals could drift without bound)
        return blocks.size() + supply().count(1);
    }

    /** The most {@link #liveBytes()} has been (an upper bound while blocks are lent: {@link BlockSupply}). */
    public long peakBytes() {
        return accounting.peakBytes();
    }

    /** Successful allocations. */
    public long allocations() {
        return blocks.count(LiveBlockSet.ALLOCATED) + supply().count(2);
    }

    /** Blocks freed. */
    public long frees() {
        return blocks.count(LiveBlockSet.FREED) + supply().count(3);
    }

    /** Successful reallocations. */
    public long reallocations() {
        return blocks.count(LiveBlockSet.REALLOCATED) + supply().count(4);
    }

    /** Allocations and reallocations that returned 0 because memory or budget ran out, or the size was bad. */
    public long failedAllocations() {
        return accounting.failedAllocations();
    }

    /** Bad calls detected (see {@link ErrorCode#isCallerError()}). */
    public long callerErrors() {
        return errors.callerErrors();
    }

    /** Every counter at once. */
    public MemoryStats stats() {
        return new MemoryStats(liveBytes(), liveBlocks(), peakBytes(), allocations(), frees(), reallocations(),
            failedAllocations(), callerErrors(), limit());
    }

    /** The byte budget, or 0 when there is none. */
    public long limit() {
        return accounting.limit();
    }

    /**
     * Bytes still available: the budget minus live bytes when {@code allocator.limit} is set, else the
     * memory the operating system reports as available.
     */
    public long ramFree() {
        return accounting.ramFree();
    }

    /** The budget when {@code allocator.limit} is set, else the machine's (or container's) total memory. */
    public long ramTotal() {
        return accounting.ramTotal();
    }

    /** The bytes the backend holds from the system for blocks ({@link Allocator#mappedBytes}), -1 if unknown. */
    public long mappedBytes() {
        return isClosed() ? 0 : backend.mappedBytes();
    }

    /** Of {@link #mappedBytes}, the bytes resident now ({@link Allocator#residentBytes}), -1 if unknown. */
    public long residentBytes() {
        return isClosed() ? 0 : backend.residentBytes();
    }

    /** Which heap a live block belongs to: its id, 0 for none, or -1 if it is not a live block. */
    public int heapOf(long address) {
        return address == 0 || isClosed() ? -1 : live.heapIdOf(address);
    }

    /** The backend's own figures, prefixed with its name. */
    public Map<String, Long> backendStatistics() {
        Map<String, Long> out = new LinkedHashMap<>();
        backend.backend().statistics().forEach((k, v) -> out.put(backend.name() + "." + k, v));
        return out;
    }

    /** The name of the backend in use. */
    public String backendName() {
        return backend.name();
    }

    /** The tracking mode. */
    public Tracking tracking() {
        return tracking;
    }

    /** Every live block, by address. Sites are recorded only in {@code leaks} and {@code debug} modes. */
    public List<LiveBlock> liveBlockList() {
        return live.list();
    }

    /**
     * The sampled live blocks by site id ({@code allocator.sample} in {@code counters}): {estimated live
     * bytes, estimated live blocks}; empty without sampling.
     */
    Map<Integer, double[]> sampledSites() {
        SampledBlocks samples = tracker.samples();
        return samples == null ? Map.of() : samples.bySite();
    }

    /** The name of site id {@code id}. */
    String siteName(int id) {
        return tracker.sites().nameOf(id);
    }

    /**
     * A readable report of every live block (address, size, flags, site) and the totals, also grouped by
     * site. Blocks still live at shutdown are leaks.
     */
    public String leakReport() {
        return live.text();
    }

    /**
     * Checks the guard bytes of every live block ({@code debug} mode) and reports each damaged one as
     * {@link ErrorCode#GUARD_CORRUPTED}.
     *
     * @return the number of damaged blocks; always 0 outside {@code debug} mode
     */
    public int checkAllGuards() {
        return tracker.checkAll(blocks);
    }

    /**
     * Checks the whole heap ({@code Platform_Mem_CheckHeap}): every live block's guards and every block in
     * the debug quarantine for writes after free ({@link ErrorCode#USE_AFTER_FREE}), each reported.
     *
     * @return the number of damaged blocks found; always 0 outside {@code debug} mode
     */
    public int checkHeap() {
        return isClosed() ? 0 : tracker.checkAll(blocks) + quarantine.checkAll();
    }

    // ---- Sites, allocation numbers and the checks that run by themselves ---------------------------

    /**
     * The id of an allocation site for {@link TrackedAllocator#allocate(long, int, long, int)}. {@code file == null}
     * means a C caller that gave no site.
     */
    public int site(String file, int line) {
        return tracker.siteId(file, line);
    }

    /**
     * The site id of call stack {@code stack} (above 0) recorded outside Java, which {@code names} (see
     * {@link #nameStacksWith}) names when a report asks: the C ABI's stacks.
     */
    public static int stackSite(int stack) {
        return SiteTable.stackSite(stack);
    }

    /**
     * A call stack's name as sites show it: its frames ({@code "function (file:line)"}), the caller's first,
     * joined by {@code " <- "}, then {@code [file:line]} when the call gave one ({@code Platform_Alloc_Dbg};
     * {@code file} null: none).
     */
    public static String stackName(List<String> frames, String file, int line) {
        return SiteTable.stackName(frames, file, line);
    }

    /**
     * Names the call stacks of {@link TrackedAllocator#stackSite}: {@code names} returns the name of stack {@code n}
     * ({@link TrackedAllocator#stackName}), or null when it does not know it.
     */
    public void nameStacksWith(java.util.function.IntFunction<String> names) {
        tracker.sites().nameStacksWith(names);
    }

    /**
     * Makes allocation {@code number} (1 for the first; tracking {@code leaks} or {@code debug} number
     * them) report {@link ErrorCode#BREAK_ALLOC} as it is made ({@link AllocatorConfig#BREAK_ALLOC}); 0:
     * none. Numbers are deterministic for a single-threaded program.
     */
    public void setBreakAlloc(long number) {
        tracker.breakAt(number);
    }

    /** Blocks numbered so far: the number of the last allocation ({@code leaks} and {@code debug}), 0 otherwise. */
    public long allocationNumber() {
        return tracker.allocations();
    }

    /**
     * Tracking {@code debug}: checks the whole heap ({@link #checkHeap}) every {@code calls} allocations,
     * frees and reallocations ({@link AllocatorConfig#CHECK_EVERY}); 0 turns it off.
     */
    public void setCheckEvery(long calls) {
        tracker.checkEvery(calls, this::checkHeap);
    }

    /**
     * What the process's exit does, once: in {@code debug} the whole heap's check (every live block's
     * guards, every quarantined block's fill), each damage reported; with {@code leakReport=exit} the leak
     * report on stderr. A Java host's shutdown runs it; the C ABI calls it from the process's exit.
     */
    public void exitChecks() {
        if (isClosed() || !exitChecked.compareAndSet(false, true)) {
            return;
        }
        if (tracking == Tracking.DEBUG) {
            checkHeap();
        }
        if (leakReportAtExit) {
            System.err.print(leakReport());
            System.err.flush();
        }
    }

    /**
     * Sets up the checks that run by themselves: the break on allocation {@code breakAlloc}
     * ({@link AllocatorConfig#BREAK_ALLOC}), the heap check every {@code checkEvery} calls
     * ({@link AllocatorConfig#CHECK_EVERY}) and the leak report at exit ({@link AllocatorConfig#LEAK_REPORT}).
     * When the exit has something to do, a Java host's shutdown runs {@link #exitChecks}; a C host's JVM
     * never shuts down, and its shim calls them itself.
     */
    void checkByThemselves(long breakAlloc, long checkEvery, boolean leakReportAtExit) {
        setBreakAlloc(breakAlloc);
        setCheckEvery(checkEvery);
        this.leakReportAtExit = leakReportAtExit;
        if (leakReportAtExit || tracking == Tracking.DEBUG) {
            exitHook = Thread.ofPlatform().name("platform-memory-exit").unstarted(this::exitChecks);
            Runtime.getRuntime().addShutdownHook(exitHook);
        }
    }

    /** Removes the shutdown hook of {@link #checkByThemselves}, on close; unless it is the one running. */
    void dropExitHook() {
        Thread hook = exitHook;
        if (hook != null && Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs, finds the allocator closed and does nothing
            }
        }
    }

    // ---- Errors and logging ---------------------------------------------------------------------

    /** Sets the handler told about every error, or removes it with {@code null}. */
    public void setErrorHandler(ErrorHandler handler) {
        errors.setHandler(handler);
    }

    /** What this allocator logs ({@code allocator.log}; {@link LogLevel#ERRORS} unless set). */
    public LogLevel logLevel() {
        return errors.level();
    }

    /** Sets what this allocator logs. */
    public void setLogLevel(LogLevel level) {
        errors.setLevel(java.util.Objects.requireNonNull(level));
    }

    /**
     * Sends the informational lines ({@link LogLevel#VERBOSE}) to {@code sink} instead of
     * {@code System.Logger}, and stops logging errors: the caller prints what its error handler gets (the
     * C boundary does, as one line each). {@code null} goes back to {@code System.Logger}.
     */
    public void logTo(java.util.function.Consumer<String> sink) {
        errors.logTo(sink);
    }

    /** Reports an error a layer in front of the facade found, counted and told exactly like the facade's own. */
    public void reportError(ErrorCode error, String message, long address) {
        errors.report(error, message, address);
    }
}
