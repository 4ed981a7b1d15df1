package org.platformmemory.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.InvalidConfigException;
import org.platformmemory.api.LogLevel;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.TrackedAllocator;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The Java side of the C ABI: {@link #install}, which the shim calls (through JNI) to start the layer,
 * what a start reads, the shutdown, and the route of errors and informational lines back to C. The call
 * table's other entries are static methods of {@link BlockEntries}, {@link HeapHandles},
 * {@link CacheEntries}, {@link InsightEntries} and {@link ReportEntries}; {@link CallTable} lists them and
 * makes each one's FFM upcall stub when it is first needed.
 *
 * <p>Every entry catches {@link Throwable}: an exception escaping an upcall would abort the game. An
 * unexpected failure is reported to the C side as {@code PLATFORM_MEM_ERR_INTERNAL} and the call returns
 * 0. Pointers cross as {@code long} (the same register class as a C pointer on the 64-bit ABIs we
 * target), so the allocation entries allocate nothing on the Java heap.
 */
public final class NativeExports {

    /** {@code PLATFORM_MEM_OK}. */
    public static final int OK = 0;
    /** {@code PLATFORM_MEM_ERR_START}: the layer could not start. */
    public static final int ERR_START = 100;
    /** {@code PLATFORM_MEM_ERR_INTERNAL}: an unexpected failure inside the layer. */
    public static final int ERR_INTERNAL = 101;

    private static final Linker LINKER = Linker.nativeLinker();
    /** How long Platform_Mem_Shutdown lets calls already under way on other threads finish. */
    private static final java.time.Duration SHUTDOWN_GRACE = java.time.Duration.ofMillis(20);

    private static volatile TrackedAllocator memory;
    /** The shim caches' Java side, or null when they are off. */
    private static volatile ShimCache cache;
    /** The option that turns the shim's per-thread caches off ({@code fastpath=off}). */
    static final String FAST_PATH = "allocator.fastpath";
    /** The largest block the shim's caches serve ({@code fastpath.largest}, 4k to the shim's PLATFORM_MEM_CACHE_LARGEST). */
    static final String FAST_PATH_LARGEST = "allocator.fastpath.largest";
    /** What the shim prints on stderr (allocator.log), and whether errors fail the run (allocator.failOnError). */
    private static volatile LogLevel logLevel = LogLevel.ERRORS;
    private static volatile boolean failOnError;
    /** What the shim records of call stacks in this start: see {@link #startSettings}. */
    private static volatile long stackSettings;
    /** The shim's pm_report, as a downcall made on the first report (see {@link #reportToC}). */
    private static volatile long reportAddress;
    private static volatile MethodHandle report;
    /** The active backend's name ({@link #backendName}). */
    private static volatile String backendName = "";

    private NativeExports() {
    }

    // ---------------------------------------------------------------------------------------------
    // Starting

    /**
     * Starts the layer: opens the facade with {@code options} ({@code key=value;...}, layered over the
     * system properties and environment) and returns the call table for the shim to copy, whose stubs
     * are being made beside the start ({@link CallTable#warmUp}). Called by the shim through JNI; never throws.
     *
     * @param reportFn    the shim's {@code pm_report(int code, const char *message, void *ptr)}
     * @param description the shim's description of its side of the ABI (a C string, see {@link AbiContract})
     * @return the address of the table ({@code PmTable}), or 0 after reporting why the layer cannot start
     */
    public static synchronized long install(String options, long reportFn, long description) {
        try {
            CallTable.warmUp(); // beside the start, on the other core: what it needs soon, then the stubs
            if (reportAddress != reportFn) {
                report = null;
                reportAddress = reportFn;
            }
            String mismatch = AbiContract.check(description == 0 ? null
                : MemorySegment.ofAddress(description).reinterpret(Integer.MAX_VALUE).getString(0), CallTable.entries());
            if (mismatch != null) {
                reportToC(ERR_START, mismatch, 0);
                return 0;
            }
            if (memory != null) {
                stopCache();
                memory.close();
                memory = null;
            }
            TrackedAllocator opened;
            long stacks;
            boolean fastPath;
            long cacheLargest;
            boolean failing;
            try {
                AllocatorConfig config = AllocatorConfig.parse(options);
                fastPath = config.bool(FAST_PATH, true);
                // the top is the shim's (PLATFORM_MEM_CACHE_LARGEST, from its description), not a copy of it here
                long top = AbiContract.bound(AbiContract.lastShimDescription(), "CACHE_LARGEST");
                cacheLargest = config.bytes(FAST_PATH_LARGEST, top, 4096, top);
                failing = config.bool(AllocatorConfig.FAIL_ON_ERROR, false);
                int depth = config.integer(AllocatorConfig.STACK_DEPTH, 16, 0, 64); // checked before the facade opens
                // the facade's informational lines (the live view's address at open) go to the shim's stderr
                opened = TrackedAllocator.open(config, NativeExports::inform);
                stacks = stackSettings(opened, depth, config);
            } catch (InvalidConfigException e) {
                reportToC(ERR_START, e.getMessage(), 0);
                return 0;
            }
            opened.setErrorHandler(NativeExports::onError);
            // the shim prints each error its handler gets as one line; the facade's other lines go there too
            opened.logTo(NativeExports::inform);
            logLevel = opened.logLevel();
            failOnError = failing;
            stackSettings = stacks;
            CSites.reset(opened);
            CStacks.nameFor(opened, AbiContract.serviceAddresses(AbiContract.lastShimDescription()));
            HeapHandles.TABLE.clear();
            memory = opened;
            try {
                // what a start reads goes to the shim through JNI (startSettings, startCaches), and so do the
                // first calls until their stubs are made (cacheRefill, alloc, allocAligned, free)
                cache = ShimCache.start(opened, AbiContract.serviceAddresses(AbiContract.lastShimDescription()),
                    fastPath, cacheLargest);
            } catch (Throwable t) {
                memory = null;
                stopCache();
                opened.close();
                throw t;
            }
            backendName = opened.backendName();
            return CallTable.address();
        } catch (Throwable t) {
            reportToC(ERR_START, "the Java side failed to start: " + t, 0);
            return 0;
        }
    }

    /**
     * What the shim reads once per start, for it once {@link #install} has returned: the log level (bits
     * 0-7: 0 quiet, 1 errors, 2 verbose), whether errors fail the run (bit 8), the frames of each call
     * stack to record (bits 16-23, 0: none), whether frees record theirs too (bit 24, {@code debug}),
     * whether the process's exit checks the heap or writes the leak report (bit 25), and the mean bytes
     * between sampled allocations (bits 32-63, 0: no sampling). Called through JNI, so that a start makes
     * no upcall stub for them (a stub costs milliseconds to make).
     */
    public static long startSettings() {
        return logLevel.ordinal() | (failOnError ? 1 : 0) << 8 | stackSettings;
    }

    /**
     * The stack bits of {@link #startSettings}, {@code depth} frames a stack, for a facade opened with
     * {@code config} (whose other keys read here it has checked already).
     */
    private static long stackSettings(TrackedAllocator memory, int depth, AllocatorConfig config) {
        Tracking tracking = memory.tracking();
        long sample = tracking == Tracking.COUNTERS ? config.bytes(AllocatorConfig.SAMPLE, 0, 0, Integer.MAX_VALUE) : 0;
        boolean stacks = tracking != Tracking.COUNTERS || sample > 0;
        boolean atExit = tracking == Tracking.DEBUG
            || config.choice(AllocatorConfig.LEAK_REPORT, org.platformmemory.api.LeakReport.class,
                org.platformmemory.api.LeakReport.OFF) == org.platformmemory.api.LeakReport.EXIT;
        return (stacks ? (long) depth << 16 : 0) | (tracking == Tracking.DEBUG ? 1L << 24 : 0)
            | (atExit ? 1L << 25 : 0) | (depth > 0 ? sample << 32 : 0);
    }

    /**
     * The largest request the shim's caches serve in this start (option fastpath.largest), 0 when they are
     * off; starts the depot keeper. The shim calls this (through JNI) once it has reset its depot for the
     * start, so that the keeper never sees the depot of an earlier start. Never throws.
     */
    public static long startCaches() {
        try {
            ShimCache c = cache;
            if (c == null) {
                return 0;
            }
            c.startKeeper();
            return c.largest();
        } catch (Throwable t) {
            internalError("starting the caches", t);
            return 0;
        }
    }

    /** The active backend's name, for the shim once {@link #install} has returned. Called through JNI. */
    public static String backendName() {
        return backendName;
    }

    /**
     * The upcall stub of table entry {@code index}, made now if it was not yet: the shim calls this
     * (through JNI) the first time it needs an entry that {@link #install} left out. Never throws.
     *
     * @return the stub's address, or 0 after reporting why it could not be made
     */
    public static long entry(int index) {
        return CallTable.entry(index);
    }

    // The entries a process's first calls are likeliest to need, for the shim through JNI while their
    // stubs are being made (CallTable.warmUp): the first allocations of a game wait for no stub. Each is
    // the table's entry of that name; each never throws.

    /** The table's {@code cache_refill}. */
    public static int cacheRefill(long size, long out, int count) {
        return CacheEntries.cacheRefill(size, out, count);
    }

    /** The table's {@code alloc} (the caches off, or a block larger than they serve). */
    public static long alloc(long size, int flags) {
        return BlockEntries.alloc(size, flags);
    }

    /** The table's {@code alloc_aligned} ({@code VirtualAlloc}'s way in). */
    public static long allocAligned(long size, long alignment, int flags) {
        return BlockEntries.allocAligned(size, alignment, flags);
    }

    /** The table's {@code free}. */
    public static void free(long ptr, long size) {
        BlockEntries.free(ptr, size);
    }

    /**
     * Loads the shim into this JVM (a Java host) and starts the layer through the C ABI's own
     * {@code Platform_Mem_Init}, exactly as a C host would; no second JVM is started.
     *
     * @return the value {@code Platform_Mem_Init} returned
     */
    public static int loadAndStart(Path library, String options) {
        System.load(library.toAbsolutePath().toString());
        MethodHandle init = LINKER.downcallHandle(
            java.lang.foreign.SymbolLookup.loaderLookup().findOrThrow("Platform_Mem_Init"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            return (int) init.invokeExact(arena.allocateFrom(options == null ? "" : options));
        } catch (Throwable t) {
            throw new IllegalStateException("Platform_Mem_Init failed", t);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The lifecycle entries of the table (the others are BlockEntries', and the classes CallTable names)

    private static void shutdown() {
        try {
            TrackedAllocator m = memory;
            memory = null; // from here every entry answers "closed"
            stopCache(); // the shim has taken its blocks back and told the depot keeper to stop
            if (m != null) {
                m.close(SHUTDOWN_GRACE); // calls already inside get a moment to finish
            }
            FlightRecordings.dumpRunning(); // a C host's JVM never shuts down, so JFR would not write them
        } catch (Throwable t) {
            internalError("Platform_Mem_Shutdown", t);
        }
    }

    private static void stopCache() {
        ShimCache c = cache;
        cache = null;
        if (c != null) {
            c.stop();
        }
    }

    // ---------------------------------------------------------------------------------------------


    /** The facade being served, or null while the layer is stopped. */
    static TrackedAllocator memory() {
        return memory;
    }

    /** The shim caches' Java side, or null when they are off. */
    static ShimCache cache() {
        return cache;
    }


    private static void onError(ErrorCode error, String message, long address) {
        reportToC(error.code(), message, address);
    }

    /** An informational line (allocator.log=verbose) for the shim to print: code OK, no handler. */
    static void inform(String message) {
        reportToC(OK, message, 0);
    }

    /** A call after Platform_Mem_Shutdown that raced it past the shim's check: refused, reported, 0. */
    static long closed(String function) {
        reportToC(ErrorCode.CLOSED.code(), function + ": the allocator was shut down", 0);
        return 0;
    }

    static long internalError(String function, Throwable t) {
        try {
            reportToC(ERR_INTERNAL, function + ": internal error: " + t, 0);
        } catch (Throwable ignored) {
            // nothing more can be done without risking the game
        }
        return 0;
    }

    static void reportToC(int code, String message, long address) {
        MethodHandle r = report;
        try (Arena arena = Arena.ofConfined()) {
            if (r == null) {
                long to = reportAddress;
                if (to == 0) {
                    return;
                }
                // made on the first report: a start that reports nothing never links a downcall
                r = LINKER.downcallHandle(MemorySegment.ofAddress(to), FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, JAVA_LONG));
                report = r;
            }
            r.invokeExact(code, arena.allocateFrom(message), address);
        } catch (Throwable t) {
            System.err.println("platform-memory: could not report an error to C: " + message);
        }
    }
}
