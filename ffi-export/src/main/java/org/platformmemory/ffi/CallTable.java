package org.platformmemory.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
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
 * cache keeps), and a start needs only a few of them: {@link NativeExports#install} makes those
 * ({@link #stub(String)}), the shim asks for any other the first time it calls it ({@link #entry}), and a
 * short-lived daemon thread makes the rest just after the first start ({@link #makeTheRestSoon}), then links
 * the page calls a first big block needs ({@link TrackedAllocator#prepare}), so a
 * game seldom waits for one. The table lives as long as the JVM; a slot holds its stub once made, else 0
 * (the shim calls its stand-in for such a slot). Thread-safe: one lock guards the table's slots.
 */
final class CallTable {

    /** One entry of the table: the static method {@code owner.name}, upcalled with {@code descriptor}. */
    private record Entry(String name, Class<?> owner, FunctionDescriptor descriptor) {
    }

    /** The entries in order; {@link AbiContract#check} compares names, order and sizes with the shim's. */
    private static final Entry[] ENTRIES = list();

    private static final Linker LINKER = Linker.nativeLinker();

    // guarded by CallTable.class
    private static MemorySegment table;
    private static boolean warming;

    private CallTable() {
    }

    /** The table entries in order, as {@link AbiContract#check} compares them. */
    static List<Map.Entry<String, FunctionDescriptor>> entries() {
        return Arrays.stream(ENTRIES).map(e -> Map.entry(e.name(), e.descriptor())).toList();
    }

    /** The table's address ({@code PmTable}: the entry count, then one slot per entry). */
    static synchronized long address() {
        return table().address();
    }

    /** The stub of the entry named {@code name} (its Java method), made now if it was not yet. */
    static long stub(String name) throws ReflectiveOperationException {
        for (int i = 0; i < ENTRIES.length; i++) {
            if (ENTRIES[i].name().equals(name)) {
                return stub(i);
            }
        }
        throw new IllegalArgumentException("no table entry " + name);
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

    /** Starts, once per process, the daemon thread that makes every stub not made yet. */
    static synchronized void makeTheRestSoon() {
        if (!warming) {
            warming = true;
            Thread.ofPlatform().daemon(true).name("platform-memory-stubs").start(() -> {
                for (int i = 0; i < ENTRIES.length; i++) {
                    if (entry(i) == 0) {
                        return; // reported; the shim asks again when it needs the entry
                    }
                }
                try {
                    TrackedAllocator.prepare(); // the page calls a first big block would link
                } catch (RuntimeException | LinkageError e) {
                    // linked on first use instead, where a failure is reported
                }
            });
        }
    }

    private static synchronized long stub(int index) throws ReflectiveOperationException {
        MemorySegment t = table();
        long made = t.getAtIndex(JAVA_LONG, index + 1L);
        if (made != 0) {
            return made;
        }
        Entry e = ENTRIES[index];
        // the entries are private to their classes, which share this package and module
        MethodHandle target = MethodHandles.privateLookupIn(e.owner(), MethodHandles.lookup())
            .findStatic(e.owner(), e.name(), e.descriptor().toMethodType());
        MemorySegment stub = LINKER.upcallStub(target, e.descriptor(), Arena.global());
        t.setAtIndex(ValueLayout.ADDRESS, index + 1L, stub);
        return stub.address();
    }

    private static MemorySegment table() {
        if (table == null) {
            table = Arena.global().allocate(JAVA_LONG, ENTRIES.length + 1L);
            table.setAtIndex(JAVA_LONG, 0, ENTRIES.length);
        }
        return table;
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
