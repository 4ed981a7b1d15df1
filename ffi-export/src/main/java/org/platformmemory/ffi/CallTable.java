package org.platformmemory.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.platformmemory.api.TrackedAllocator;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The shim's call table: its entries in the order of {@code PM_CALLS} (platform_memory_shim.h), and their
 * FFM upcall stubs, each made once, when first needed.
 *
 * <p>Making a stub costs several milliseconds (the JDK spins its adapter classes, which no ahead-of-time
 * cache keeps), so a start makes none: a short-lived daemon thread makes them beside it ({@link #warmUp}),
 * those of a first allocation first. Until a slot is filled the shim calls its stand-in, which takes the
 * stub from the slot once it is there, reaches the entry's Java method through JNI meanwhile (the first
 * allocations), or asks for the stub and waits ({@link #entry}). The table lives as long as the JVM; a
 * slot holds its stub once made, else 0. Thread-safe: a slot is written once, with release semantics, by
 * the one thread that holds its entry's lock.
 */
final class CallTable {

    /** One entry of the table: the static method {@code owner.name}, upcalled with {@code descriptor}. */
    private record Entry(String name, Class<?> owner, FunctionDescriptor descriptor) {
    }

    /** The entries in order; {@link AbiContract#check} compares names, order and sizes with the shim's. */
    private static final Entry[] ENTRIES = list();

    private static final Linker LINKER = Linker.nativeLinker();

    /** What a first start needs soonest, made first by the warm-up thread: the first blocks' ways in and out. */
    private static final List<String> FIRST = List.of("cacheRefill", "cacheRelease", "alloc", "free", "allocAligned",
        "realloc");

    /** The table: the entry count, then one slot per entry, 0 until that entry's stub is made. */
    private static final MemorySegment TABLE = table();
    /** One lock per entry, held while its stub is made: two threads asking at once get one stub. */
    private static final Object[] MAKING = new Object[ENTRIES.length];

    static {
        Arrays.setAll(MAKING, i -> new Object());
    }

    /**
     * {@code -Dplatform.memory.warmUp=false} turns the warm-up thread off: every stub is then made when the
     * shim first calls its entry, and the entries the shim reaches through JNI go that way for good. For
     * the tests of those ways, which a warm-up thread racing them would make a matter of timing.
     */
    static final String WARM_UP = "platform.memory.warmUp";

    // guarded by CallTable.class
    private static boolean warming;

    private CallTable() {
    }

    /** The table entries in order, as {@link AbiContract#check} compares them. */
    static List<Map.Entry<String, FunctionDescriptor>> entries() {
        return Arrays.stream(ENTRIES).map(e -> Map.entry(e.name(), e.descriptor())).toList();
    }

    /** The table's address ({@code PmTable}: the entry count, then one slot per entry). */
    static long address() {
        return TABLE.address();
    }

    /**
     * The stub of entry {@code index}, made now if it was not yet; for the shim ({@link NativeExports#entry}).
     * Never throws.
     *
     * @return the stub's address, or 0 after reporting why it could not be made
     */
    static long entry(int index) {
        try {
            return stub(index);
        } catch (Throwable t) {
            NativeExports.reportToC(NativeExports.ERR_INTERNAL, "cannot make the upcall for table entry "
                + (index >= 0 && index < ENTRIES.length ? ENTRIES[index].name() : String.valueOf(index)) + ": " + t, 0);
            return 0;
        }
    }

    /**
     * Starts, once per process, the daemon thread that makes every stub not made yet, beside the start
     * rather than in it: first what the start and its first chunk would make on their own thread
     * ({@link TrackedAllocator#prepare}), then the entries of a first allocation ({@link #FIRST}), then
     * the rest. Until an entry's stub is there the shim calls its stand-in, which takes the stub from the
     * table once it is made.
     */
    static synchronized void warmUp() {
        if (!warming && !"false".equals(System.getProperty(WARM_UP))) {
            warming = true;
            Thread.ofPlatform().daemon(true).name("platform-memory-stubs").start(CallTable::makeAll);
        }
    }

    private static void makeAll() {
        try {
            TrackedAllocator.prepare();
        } catch (RuntimeException | LinkageError e) {
            // linked on first use instead, where a failure is reported
        }
        for (String name : FIRST) {
            if (entry(index(name)) == 0) {
                return; // reported; the shim asks again when it needs the entry
            }
        }
        for (int i = 0; i < ENTRIES.length; i++) {
            if (entry(i) == 0) {
                return;
            }
        }
    }

    private static long stub(int index) throws ReflectiveOperationException {
        long made = TABLE.getAtIndex(JAVA_LONG, index + 1L);
        VarHandle.acquireFence(); // the stub's code before its address (written after a release fence)
        if (made != 0) {
            return made;
        }
        synchronized (MAKING[index]) {
            made = TABLE.getAtIndex(JAVA_LONG, index + 1L);
            if (made != 0) {
                return made;
            }
            Entry e = ENTRIES[index];
            // the entries are private to their classes, which share this package and module
            MethodHandle target = MethodHandles.privateLookupIn(e.owner(), MethodHandles.lookup())
                .findStatic(e.owner(), e.name(), e.descriptor().toMethodType());
            long stub = LINKER.upcallStub(target, e.descriptor(), Arena.global()).address();
            VarHandle.releaseFence(); // the shim reads the slot with acquire, and calls the stub it finds
            TABLE.setAtIndex(JAVA_LONG, index + 1L, stub);
            return stub;
        }
    }

    private static int index(String name) {
        for (int i = 0; i < ENTRIES.length; i++) {
            if (ENTRIES[i].name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no table entry " + name);
    }

    private static MemorySegment table() {
        MemorySegment t = Arena.global().allocate(JAVA_LONG, ENTRIES.length + 1L);
        t.setAtIndex(JAVA_LONG, 0, ENTRIES.length);
        return t;
    }

    private static Entry[] list() {
        Class<?> self = NativeExports.class;
        return new Entry[] {
            new Entry("alloc", BlockEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT)),
            new Entry("free", BlockEntries.class, FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG)),
            new Entry("realloc", BlockEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            new Entry("allocAligned", BlockEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT)),
            new Entry("allocDbg", BlockEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT)),
            new Entry("size", BlockEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG)),
            new Entry("getStats", BlockEntries.class, FunctionDescriptor.ofVoid(JAVA_LONG)),
            new Entry("dumpLeaks", ReportEntries.class, FunctionDescriptor.of(JAVA_LONG)),
            new Entry("heapCreate", HeapHandles.class, FunctionDescriptor.of(JAVA_LONG)),
            new Entry("heapAlloc", HeapHandles.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT)),
            new Entry("heapFree", HeapHandles.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG)),
            new Entry("heapDestroy", HeapHandles.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG)),
            new Entry("heapSize", HeapHandles.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            new Entry("checkHeap", ReportEntries.class, FunctionDescriptor.of(JAVA_INT)),
            new Entry("shutdown", self, FunctionDescriptor.ofVoid()),
            new Entry("stat", ReportEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_INT)),
            new Entry("cacheRefill", CacheEntries.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT)),
            new Entry("cacheRelease", CacheEntries.class, FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_INT)),
            new Entry("freeIfLive", CacheEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            new Entry("reallocIfLive", CacheEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            new Entry("report", CacheEntries.class, FunctionDescriptor.ofVoid(JAVA_INT, JAVA_LONG, JAVA_LONG)),
            new Entry("tagId", InsightEntries.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG)),
            new Entry("setMode", InsightEntries.class, FunctionDescriptor.ofVoid(JAVA_INT)),
            new Entry("setTagBudget", InsightEntries.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            new Entry("tagStats", InsightEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            new Entry("frameMark", InsightEntries.class, FunctionDescriptor.ofVoid()),
            new Entry("frameStats", InsightEntries.class, FunctionDescriptor.ofVoid(JAVA_LONG)),
            new Entry("snapshot", InsightEntries.class, FunctionDescriptor.of(JAVA_LONG)),
            new Entry("dumpDiff", InsightEntries.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG)),
            new Entry("writeReport", InsightEntries.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG)),
            new Entry("discard", BlockEntries.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG)),
            new Entry("trim", BlockEntries.class, FunctionDescriptor.ofVoid()),
            new Entry("allocAt", BlockEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT)),
            new Entry("reallocAt", BlockEntries.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT)),
            new Entry("freeAt", BlockEntries.class, FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG, JAVA_INT)),
            new Entry("heapAllocAt", HeapHandles.class, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT)),
            new Entry("heapFreeAt", HeapHandles.class, FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT)),
            new Entry("setBreak", BlockEntries.class, FunctionDescriptor.ofVoid(JAVA_LONG)),
            new Entry("exitChecks", BlockEntries.class, FunctionDescriptor.ofVoid()),
        };
    }
}
