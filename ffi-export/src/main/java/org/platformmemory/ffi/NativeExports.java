package org.platformmemory.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.BlockSupply;
import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.InvalidConfigException;
import org.platformmemory.api.MemoryStats;
import org.platformmemory.api.PrivateHeap;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.TrackedAllocator;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The Java side of the C ABI: one static method per entry of the shim's call table, each turned into an
 * FFM upcall stub, and {@link #install}, which the shim calls (through JNI) to start the layer.
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

    /**
     * The table entries in the order of {@code PmTable} in platform_memory_shim.h ({@code PM_CALLS}):
     * {@link AbiContract#check} compares names, order and sizes with the shim's description at install.
     */
    private static final Map.Entry<String, FunctionDescriptor>[] ENTRIES = entries();

    private static final Linker LINKER = Linker.nativeLinker();
    /** How long Platform_Mem_Shutdown lets calls already under way on other threads finish. */
    private static final java.time.Duration SHUTDOWN_GRACE = java.time.Duration.ofMillis(20);

    private static volatile TrackedAllocator memory;
    /** The shim caches' Java side, or null when they are off. */
    private static volatile ShimCache cache;
    /** The option that turns the shim's per-thread caches off ({@code fastpath=off}). */
    static final String FAST_PATH = "allocator.fastpath";
    private static volatile int cSite;
    private static volatile MethodHandle report;
    private static MemorySegment table;
    private static final Map<SiteKey, Integer> SITES = new ConcurrentHashMap<>();
    private static final HeapHandles HEAPS = new HeapHandles();

    /** A C allocation site: the address of its {@code __FILE__} string and the line. */
    private record SiteKey(long file, int line) {
    }

    private NativeExports() {
    }

    /** The table entries in order, as {@link AbiContract#check} compares them. */
    static List<Map.Entry<String, FunctionDescriptor>> tableEntries() {
        return List.of(ENTRIES);
    }

    @SuppressWarnings("unchecked")
    private static Map.Entry<String, FunctionDescriptor>[] entries() {
        return new Map.Entry[] {
            Map.entry("alloc", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT)),
            Map.entry("free", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG)),
            Map.entry("realloc", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            Map.entry("allocAligned", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT)),
            Map.entry("allocDbg", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT)),
            Map.entry("size", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG)),
            Map.entry("getStats", FunctionDescriptor.ofVoid(JAVA_LONG)),
            Map.entry("dumpLeaks", FunctionDescriptor.of(JAVA_LONG)),
            Map.entry("heapCreate", FunctionDescriptor.of(JAVA_INT)),
            Map.entry("heapAlloc", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT)),
            Map.entry("heapFree", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG)),
            Map.entry("heapDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG)),
            Map.entry("shutdown", FunctionDescriptor.ofVoid()),
            Map.entry("stat", FunctionDescriptor.of(JAVA_LONG, JAVA_INT)),
            Map.entry("cacheLimit", FunctionDescriptor.of(JAVA_LONG)),
            Map.entry("cacheRefill", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT)),
            Map.entry("cacheRelease", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_INT)),
            Map.entry("freeIfLive", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            Map.entry("reallocIfLive", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            Map.entry("report", FunctionDescriptor.ofVoid(JAVA_INT, JAVA_LONG, JAVA_LONG)),
        };
    }

    // ---------------------------------------------------------------------------------------------
    // Starting

    /**
     * Starts the layer: opens the facade with {@code options} ({@code key=value;...}, layered over the
     * system properties and environment), creates the upcall stubs once, and hands the table to the shim.
     * Called by the shim through JNI; never throws.
     *
     * @param installFn   the shim's {@code pm_install(const PmTable *, const char *backend)}
     * @param reportFn    the shim's {@code pm_report(int code, const char *message, void *ptr)}
     * @param description the shim's description of its side of the ABI (a C string, see {@link AbiContract})
     * @return {@link #OK}, or {@link #ERR_START} after reporting why
     */
    public static synchronized int install(String options, long installFn, long reportFn, long description) {
        try {
            report = LINKER.downcallHandle(MemorySegment.ofAddress(reportFn),
                FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, JAVA_LONG));
            String mismatch = AbiContract.check(description == 0 ? null
                : MemorySegment.ofAddress(description).reinterpret(Integer.MAX_VALUE).getString(0), tableEntries());
            if (mismatch != null) {
                reportToC(ERR_START, mismatch, 0);
                return ERR_START;
            }
            if (memory != null) {
                stopCache();
                memory.close();
                memory = null;
            }
            TrackedAllocator opened;
            boolean fastPath;
            try {
                AllocatorConfig config = AllocatorConfig.parse(options);
                fastPath = config.bool(FAST_PATH, true);
                opened = TrackedAllocator.open(config);
            } catch (InvalidConfigException e) {
                reportToC(ERR_START, e.getMessage(), 0);
                return ERR_START;
            }
            opened.setErrorHandler(NativeExports::onError);
            cSite = opened.site(null, 0);
            SITES.clear();
            HEAPS.clear();
            if (table == null) {
                table = buildTable();
            }
            memory = opened;
            cache = ShimCache.start(opened, AbiContract.serviceAddresses(AbiContract.lastShimDescription()), fastPath);
            MethodHandle installer = LINKER.downcallHandle(MemorySegment.ofAddress(installFn),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
            MemorySegment name = Arena.global().allocateFrom(opened.backendName());
            int rc = (int) installer.invokeExact(table, name);
            if (rc != OK) {
                memory = null;
                stopCache();
                opened.close();
            }
            return rc;
        } catch (Throwable t) {
            reportToC(ERR_START, "the Java side failed to start: " + t, 0);
            return ERR_START;
        }
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

    private static MemorySegment buildTable() throws ReflectiveOperationException {
        MemorySegment t = Arena.global().allocate(JAVA_LONG, ENTRIES.length + 1L);
        t.setAtIndex(JAVA_LONG, 0, ENTRIES.length);
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        for (int i = 0; i < ENTRIES.length; i++) {
            FunctionDescriptor descriptor = ENTRIES[i].getValue();
            MethodType type = descriptor.toMethodType();
            MethodHandle target = lookup.findStatic(NativeExports.class, ENTRIES[i].getKey(), type);
            MemorySegment stub = LINKER.upcallStub(target, descriptor, Arena.global());
            t.setAtIndex(ValueLayout.ADDRESS, i + 1L, stub);
        }
        return t;
    }

    // ---------------------------------------------------------------------------------------------
    // The table's entries: each catches everything

    private static long alloc(long size, int flags) {
        try {
            TrackedAllocator m = memory;
            return m != null ? m.allocate(size, flags, 16, cSite) : closed("Platform_Alloc");
        } catch (Throwable t) {
            return internalError("Platform_Alloc", t);
        }
    }

    private static void free(long ptr, long size) {
        try {
            TrackedAllocator m = memory;
            if (m != null) {
                m.free(ptr, size);
            } else {
                closed("Platform_Free");
            }
        } catch (Throwable t) {
            internalError("Platform_Free", t);
        }
    }

    private static long realloc(long ptr, long oldSize, long newSize) {
        try {
            TrackedAllocator m = memory;
            if (m == null) {
                return closed("Platform_Realloc");
            }
            return ptr == 0 ? m.allocate(newSize, 0, 16, cSite) : m.reallocate(ptr, oldSize, newSize);
        } catch (Throwable t) {
            return internalError("Platform_Realloc", t);
        }
    }

    private static long allocAligned(long size, long alignment, int flags) {
        try {
            TrackedAllocator m = memory;
            return m != null ? m.allocate(size, flags, alignment, cSite) : closed("Platform_AllocAligned");
        } catch (Throwable t) {
            return internalError("Platform_AllocAligned", t);
        }
    }

    private static long allocDbg(long size, int flags, long file, int line) {
        try {
            TrackedAllocator m = memory;
            if (m == null) {
                return closed("Platform_Alloc_Dbg");
            }
            return m.allocate(size, flags, 16, m.tracking() == Tracking.COUNTERS ? cSite : site(m, file, line));
        } catch (Throwable t) {
            return internalError("Platform_Alloc_Dbg", t);
        }
    }

    private static long size(long ptr) {
        try {
            TrackedAllocator m = memory;
            return m != null ? m.sizeOf(ptr) : 0;
        } catch (Throwable t) {
            return internalError("Platform_Mem_Size", t);
        }
    }

    private static void getStats(long out) {
        try {
            TrackedAllocator m = memory;
            if (m == null) {
                return; // the shim has zeroed the struct
            }
            MemoryStats s = m.stats();
            // the fields, offsets and sizes were checked against the shim's PlatformMemStats at install
            AbiContract.StatsField[] fields = AbiContract.StatsField.all();
            MemorySegment target = MemorySegment.ofAddress(out).reinterpret(fields.length * AbiContract.StatsField.SIZE);
            for (AbiContract.StatsField f : fields) {
                target.set(JAVA_LONG, f.offset(), f.value(s, m));
            }
        } catch (Throwable t) {
            internalError("Platform_Mem_GetStats", t);
        }
    }

    private static long dumpLeaks() {
        try {
            TrackedAllocator m = memory;
            if (m == null) {
                return 0;
            }
            System.err.print(m.leakReport());
            System.err.flush();
            return m.liveBlocks();
        } catch (Throwable t) {
            return internalError("Platform_Mem_DumpLeaks", t);
        }
    }

    private static int heapCreate() {
        try {
            TrackedAllocator m = memory;
            return m != null ? (int) HEAPS.create(m) : (int) closed("Platform_HeapCreate");
        } catch (Throwable t) {
            return (int) internalError("Platform_HeapCreate", t);
        }
    }

    private static long heapAlloc(long heap, long size, int flags) {
        try {
            TrackedAllocator m = memory;
            if (m == null) {
                return closed("Platform_HeapAlloc");
            }
            PrivateHeap h = HEAPS.find(m, heap, "Platform_HeapAlloc");
            return h != null ? h.allocate(size, flags, cSite) : 0;
        } catch (Throwable t) {
            return internalError("Platform_HeapAlloc", t);
        }
    }

    private static int heapFree(long heap, long ptr) {
        try {
            TrackedAllocator m = memory;
            if (m == null) {
                return 0;
            }
            PrivateHeap h = HEAPS.find(m, heap, "Platform_HeapFree");
            return h != null && h.free(ptr) ? 1 : 0;
        } catch (Throwable t) {
            return (int) internalError("Platform_HeapFree", t);
        }
    }

    private static int heapDestroy(long heap) {
        try {
            TrackedAllocator m = memory;
            return m != null && HEAPS.destroy(m, heap) ? 1 : 0;
        } catch (Throwable t) {
            return (int) internalError("Platform_HeapDestroy", t);
        }
    }

    /** One figure, by the shim's PM_STAT_* id (checked at install): no allocation (counters read in place). */
    private static long stat(int which) {
        try {
            TrackedAllocator m = memory;
            if (m == null) {
                return 0;
            }
            return switch (which) {
                case AbiContract.STAT_LIVE_BYTES -> m.liveBytes();
                case AbiContract.STAT_PEAK_BYTES -> m.peakBytes();
                case AbiContract.STAT_LIVE_BLOCKS -> m.liveBlocks();
                case AbiContract.STAT_RAM_FREE -> m.ramFree();
                case AbiContract.STAT_RAM_TOTAL -> m.ramTotal();
                default -> 0;
            };
        } catch (Throwable t) {
            return internalError("Platform_Mem_Get*", t);
        }
    }

    private static void shutdown() {
        try {
            TrackedAllocator m = memory;
            memory = null; // from here every entry answers "closed"
            stopCache(); // the shim has taken its blocks back and told the depot keeper to stop
            if (m != null) {
                m.close(SHUTDOWN_GRACE); // calls already inside get a moment to finish
            }
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
    // The shim caches' entries (pm_cache.c): each catches everything

    /** PM_CACHE_LARGEST while the caches may run, else 0. */
    private static long cacheLimit() {
        try {
            ShimCache c = cache;
            if (c == null) {
                return 0;
            }
            c.startKeeper();
            return ShimCache.LARGEST;
        } catch (Throwable t) {
            return internalError("starting the caches", t);
        }
    }

    private static int cacheRefill(long blockSize, long out, int count) {
        try {
            ShimCache c = cache;
            return c != null ? c.supply().lend(blockSize, out, count) : 0;
        } catch (Throwable t) {
            return (int) internalError("a cache refill", t);
        }
    }

    private static void cacheRelease(long blockSize, long in, int count) {
        try {
            ShimCache c = cache;
            if (c != null) {
                c.supply().takeBack(blockSize, in, count);
            }
        } catch (Throwable t) {
            internalError("a cache release", t);
        }
    }

    /** BlockSupply.freeIfLive for a pointer no cache knows: FREED (0), UNKNOWN (1) or KNOWN (3). */
    private static long freeIfLive(long ptr, long size) {
        try {
            TrackedAllocator m = memory;
            if (m == null) {
                closed("Platform_Free");
                return BlockSupply.FREED;
            }
            return m.supply().freeIfLive(ptr, size);
        } catch (Throwable t) {
            internalError("Platform_Free", t);
            return BlockSupply.FREED;
        }
    }

    /** BlockSupply.reallocateIfLive for a pointer no cache knows. */
    private static long reallocIfLive(long ptr, long oldSize, long newSize) {
        try {
            TrackedAllocator m = memory;
            return m != null ? m.supply().reallocateIfLive(ptr, oldSize, newSize) : closed("Platform_Realloc");
        } catch (Throwable t) {
            return internalError("Platform_Realloc", t);
        }
    }

    /** An error the shim found on its fast path: counted, logged and told like the facade's own. */
    private static void report(int code, long message, long ptr) {
        try {
            TrackedAllocator m = memory;
            String text = MemorySegment.ofAddress(message).reinterpret(4096).getString(0);
            ErrorCode error = ErrorCode.of(code);
            if (m != null && error != null) {
                m.reportError(error, text, ptr);
            } else {
                reportToC(code, text, ptr);
            }
        } catch (Throwable t) {
            internalError("an error report", t);
        }
    }

    // ---------------------------------------------------------------------------------------------

    /** The site id of a C {@code file:line}; file names are interned by their address. */
    private static int site(TrackedAllocator m, long file, int line) {
        if (file == 0) {
            return cSite;
        }
        SiteKey key = new SiteKey(file, line);
        Integer id = SITES.get(key);
        if (id == null) {
            String name = MemorySegment.ofAddress(file).reinterpret(4096).getString(0);
            id = m.site(name, line);
            SITES.put(key, id);
        }
        return id;
    }

    private static void onError(ErrorCode error, String message, long address) {
        reportToC(error.code(), message, address);
    }

    /** A call after Platform_Mem_Shutdown that raced it past the shim's check: refused, reported, 0. */
    private static long closed(String function) {
        reportToC(ErrorCode.CLOSED.code(), function + ": the allocator was shut down", 0);
        return 0;
    }

    private static long internalError(String function, Throwable t) {
        try {
            reportToC(ERR_INTERNAL, function + ": internal error: " + t, 0);
        } catch (Throwable ignored) {
            // nothing more can be done without risking the game
        }
        return 0;
    }

    private static void reportToC(int code, String message, long address) {
        MethodHandle r = report;
        if (r == null) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            r.invokeExact(code, arena.allocateFrom(message), address);
        } catch (Throwable t) {
            System.err.println("platform-memory: could not report an error to C: " + message);
        }
    }
}
