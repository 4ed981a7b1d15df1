package org.platformmemory.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.Backends;
import org.platformmemory.api.BlockSupply;
import org.platformmemory.api.contract.BlockPattern;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The C ABI from a Java host: this JVM loads libplatform_memory.so and starts the layer through the
 * library's own Platform_Mem_Init (no second JVM); every call below goes Java -> C -> upcall -> Java,
 * as a game's would.
 */
class JavaHostAbiTest {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final List<int[]> ERRORS = new ArrayList<>();
    private static SymbolLookup library;
    private static MethodHandle alloc;
    private static MethodHandle free;
    private static MethodHandle realloc;
    private static MethodHandle size;
    private static MethodHandle count;
    private static MethodHandle init;
    private static MethodHandle shutdown;
    private static MethodHandle backend;
    private static MethodHandle lastError;
    private static MethodHandle heapCreate;
    private static MethodHandle heapAlloc;
    private static MethodHandle heapDestroy;

    static void onError(int code, MemorySegment message, MemorySegment ptr) {
        synchronized (ERRORS) {
            ERRORS.add(new int[] {code});
        }
    }

    @BeforeAll
    static void load() throws Throwable {
        Path path = Path.of(System.getProperty("platform.memory.library"));
        assertEquals(0, NativeExports.loadAndStart(path, "backend=system"), "Platform_Mem_Init");
        library = SymbolLookup.loaderLookup();
        alloc = handle("Platform_Alloc", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT));
        free = handle("Platform_Free", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG));
        realloc = handle("Platform_Realloc", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        size = handle("Platform_Mem_Size", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        count = handle("Platform_Mem_GetCount", FunctionDescriptor.of(JAVA_LONG));
        init = handle("Platform_Mem_Init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        shutdown = handle("Platform_Mem_Shutdown", FunctionDescriptor.ofVoid());
        backend = handle("Platform_Mem_Backend", FunctionDescriptor.of(ADDRESS));
        lastError = handle("Platform_Mem_LastError", FunctionDescriptor.of(ADDRESS));
        heapCreate = handle("Platform_HeapCreate", FunctionDescriptor.of(JAVA_LONG));
        heapAlloc = handle("Platform_HeapAlloc", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        heapDestroy = handle("Platform_HeapDestroy", FunctionDescriptor.ofVoid(JAVA_LONG));
        MethodHandle setHandler = handle("Platform_Mem_SetErrorHandler", FunctionDescriptor.ofVoid(ADDRESS));
        FunctionDescriptor handlerType = FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, ADDRESS);
        MemorySegment stub = LINKER.upcallStub(MethodHandles.lookup().findStatic(JavaHostAbiTest.class, "onError",
            MethodType.methodType(void.class, int.class, MemorySegment.class, MemorySegment.class)),
            handlerType, Arena.global());
        setHandler.invokeExact(stub);
    }

    @AfterAll
    static void stop() throws Throwable {
        shutdown.invokeExact();
    }

    private static MethodHandle handle(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(library.findOrThrow(name), descriptor);
    }

    private static String text(MemorySegment cString) {
        return cString.reinterpret(4096).getString(0);
    }

    private static int lastCode() {
        synchronized (ERRORS) {
            return ERRORS.isEmpty() ? 0 : ERRORS.getLast()[0];
        }
    }

    private static void start(String options) throws Throwable {
        shutdown.invokeExact();
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) init.invokeExact(arena.allocateFrom(options));
            assertEquals(0, rc, () -> {
                try {
                    return text((MemorySegment) lastError.invokeExact());
                } catch (Throwable t) {
                    return t.toString();
                }
            });
        }
    }

    @Test
    void shouldServeEveryBackendThroughTheCAbiWithoutASecondJvm() throws Throwable {
        for (String name : Backends.available().keySet()) {
            start("backend=" + name);
            assertEquals(name, text((MemorySegment) backend.invokeExact()));
            long p = (long) alloc.invokeExact(1000L, 0x02);
            assertNotEquals(0, p);
            assertEquals(0, p % 16);
            assertTrue(BlockPattern.allBytes(p, 1000, (byte) 0), "MEM_CLEAR through the ABI");
            BlockPattern.fill(p, 1000, 3);
            long q = (long) realloc.invokeExact(p, 0L, 50_000L);
            assertTrue(BlockPattern.holds(q, 1000, 3), name);
            assertEquals(50_000, (long) size.invokeExact(q));
            assertEquals(1, (long) count.invokeExact());
            free.invokeExact(q, 0L);
            assertEquals(0, (long) count.invokeExact());
            long heap = (long) heapCreate.invokeExact();
            for (int i = 0; i < 100; i++) {
                assertNotEquals(0, (long) heapAlloc.invokeExact(heap, 64L + i, 0));
            }
            assertEquals(100, (long) count.invokeExact());
            heapDestroy.invokeExact(heap);
            assertEquals(0, (long) count.invokeExact(), "heap destroy freed its blocks");
        }
        start("backend=system");
    }

    @Test
    void shouldReportBadCallsThroughTheCHandlerAndLoseNothing() throws Throwable {
        long canary = (long) alloc.invokeExact(256L, 0);
        BlockPattern.fill(canary, 256, 9);
        long p = (long) alloc.invokeExact(64L, 0);
        free.invokeExact(p, 0L);
        free.invokeExact(p, 0L);
        assertEquals(1, lastCode(), "PLATFORM_MEM_ERR_DOUBLE_FREE");
        assertTrue(text((MemorySegment) lastError.invokeExact()).contains("already freed"));
        free.invokeExact(0x7f00_dead_bee0L, 0L);
        assertEquals(2, lastCode(), "PLATFORM_MEM_ERR_INVALID_POINTER");
        free.invokeExact(canary + 16, 0L);
        assertEquals(3, lastCode(), "PLATFORM_MEM_ERR_INTERIOR_POINTER");
        assertEquals(0, (long) alloc.invokeExact(-1L, 0), "SIZE_MAX");
        assertEquals(5, lastCode(), "PLATFORM_MEM_ERR_SIZE_OVERFLOW");
        assertEquals(0, (long) realloc.invokeExact(canary, 0L, -1L));
        assertTrue(BlockPattern.holds(canary, 256, 9), "the block survives everything");
        assertEquals(256, (long) size.invokeExact(canary));
        free.invokeExact(canary, 256L);
        assertEquals(0, (long) count.invokeExact());
    }

    /** A large block the shim's caches keep: a 1 MiB block freed and taken again stays in C, within its bound. */
    @Test
    void shouldServeAFreedLargeBlockAgainFromTheThreadsCacheAndKeepAtMostTwoMibOfThem() throws Throwable {
        start("backend=system");
        BlockSupply supply = NativeExports.memory().supply();
        long base = steadyLentBytes(supply);
        long mib = 1L << 20;
        List<Throwable> failures = new ArrayList<>();
        Thread game = Thread.ofPlatform().start(() -> {
            try {
                long p = (long) alloc.invokeExact(mib, 0);
                free.invokeExact(p, 0L);
                assertEquals(mib, supply.lentBytes() - base, "the one 1 MiB block, lent to the thread's cache");
                for (int i = 0; i < 1000; i++) {
                    long q = (long) alloc.invokeExact(mib, 0);
                    assertEquals(p, q, "the block the thread freed, from its cache");
                    assertEquals(mib, (long) size.invokeExact(q));
                    assertEquals(1, (long) count.invokeExact());
                    free.invokeExact(q, mib);
                }
                assertEquals(mib, supply.lentBytes() - base, "1,000 pairs without a refill or a release");
                long r = (long) alloc.invokeExact(mib, 0);
                free.invokeExact(r + 700_000, 0L);
                assertEquals(3, lastCode(), "PLATFORM_MEM_ERR_INTERIOR_POINTER, 700,000 bytes into a cached block");
                assertEquals(mib, (long) size.invokeExact(r), "and the block is still live");
                free.invokeExact(r, 0L);
                // one block of each class above 64 KiB (80 KiB to 1 MiB, four a doubling), all live, then all freed
                List<Long> blocks = new ArrayList<>();
                for (long size = 80 << 10; size <= mib; size += Long.highestOneBit(size - 1) / 4) {
                    blocks.add((long) alloc.invokeExact(size, 0));
                }
                assertEquals(16, blocks.size());
                assertEquals(16, (long) count.invokeExact());
                for (long block : blocks) {
                    free.invokeExact(block, 0L);
                }
                assertEquals(0, (long) count.invokeExact());
                long kept = supply.lentBytes() - base;
                assertTrue(kept >= mib && kept <= 2 * mib, "kept " + kept + " bytes: at most 2 MiB, the last freed among them");
                long last = blocks.getLast();
                assertEquals(last, (long) alloc.invokeExact(mib, 0), "the last one freed is kept");
                free.invokeExact(last, 0L);
            } catch (Throwable t) {
                failures.add(t);
            }
        });
        game.join();
        assertEquals(List.of(), failures);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (supply.lentBytes() != base && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(base, supply.lentBytes(), "an ended thread's large blocks go back to the facade");
        assertEquals(0, (long) count.invokeExact());
    }

    /** fastpath.largest lowers what the caches serve; a value outside 4k-1m refuses to start, naming the key. */
    @Test
    void shouldServeLargerBlocksThroughTheFacadeWhenFastpathLargestIsLowered() throws Throwable {
        start("backend=system;fastpath.largest=64k");
        BlockSupply supply = NativeExports.memory().supply();
        long base = steadyLentBytes(supply);
        long p = (long) alloc.invokeExact(100_000L, 0);
        assertEquals(100_000, (long) size.invokeExact(p));
        free.invokeExact(p, 0L);
        assertEquals(base, supply.lentBytes(), "100,000 bytes: not lent to a cache");
        long q = (long) alloc.invokeExact(65_536L, 0);
        free.invokeExact(q, 0L);
        assertTrue(supply.lentBytes() > base, "64 KiB: still from the caches");
        shutdown.invokeExact();
        try (Arena arena = Arena.ofConfined()) {
            assertNotEquals(0, (int) init.invokeExact(arena.allocateFrom("backend=system;fastpath.largest=2m")));
            String why = text((MemorySegment) lastError.invokeExact());
            assertTrue(why.contains("fastpath.largest"), why);
        }
        start("backend=system");
    }

    // the bytes lent once the depot keeper has filled the shim's depot for new threads
    private static long steadyLentBytes(BlockSupply supply) throws InterruptedException {
        long before;
        long now = supply.lentBytes();
        do {
            before = now;
            Thread.sleep(200);
            now = supply.lentBytes();
        } while (now != before);
        return now;
    }

    @Test
    void shouldRecordStacksSafelyWhenJavaCodeCallsTheAbiWithLeaksTracked() throws Throwable {
        // a Java host's callers come from compiled Java code, which has no unwind tables: the shim unwinds
        // with glibc's backtrace(), which stops there, and names what it found
        start("backend=system;tracking=leaks");
        try {
            long[] blocks = new long[2000];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = (long) alloc.invokeExact(48L + i % 5, 0);
                assertNotEquals(0, blocks[i]);
            }
            List<org.platformmemory.api.LiveBlock> live = NativeExports.memory().liveBlockList();
            assertEquals(blocks.length, live.size());
            for (org.platformmemory.api.LiveBlock b : live) {
                assertTrue(b.site() != null && !b.site().startsWith("(unknown stack"), b.site());
                assertTrue(b.number() > 0, "numbered");
            }
            for (long b : blocks) {
                free.invokeExact(b, 0L);
            }
            assertEquals(0L, (long) count.invokeExact());
        } finally {
            start("backend=system");
        }
    }

    @Test
    void shouldExportEveryFunctionThePublicHeaderDeclares() throws Exception {
        String header = Files.readString(Path.of(System.getProperty("platform.memory.header")));
        Matcher m = Pattern.compile("PLATFORM_MEMORY_API\\s+[\\w\\s*]*?\\b(Platform_\\w+)\\s*\\(").matcher(header);
        Set<String> declared = new TreeSet<>();
        while (m.find()) {
            declared.add(m.group(1));
        }
        assertEquals(43, declared.size(), "declared: " + declared);
        for (String name : List.of("Platform_Alloc", "Platform_Free", "Platform_Realloc", "Platform_Ram_Free",
                "Platform_Total_Ram_Free", "Platform_Mem_GetAllocated", "Platform_Mem_GetPeak", "Platform_Mem_GetCount",
                "Platform_Mem_DumpLeaks", "Platform_MemCopy", "Platform_MemMove", "Platform_MemSet", "Platform_MemCmp",
                "Platform_ZeroMemory", "Platform_Mem_Init", "Platform_Mem_Shutdown", "Platform_Mem_Backend",
                "Platform_Mem_LastError", "Platform_Mem_Size", "Platform_AllocAligned", "Platform_Alloc_Dbg",
                "Platform_Mem_GetStats", "Platform_Mem_SetErrorHandler", "Platform_HeapCreate", "Platform_HeapAlloc",
                "Platform_HeapFree", "Platform_HeapDestroy", "Platform_HeapSize", "Platform_Mem_CheckHeap", "Platform_Mem_Discard", "Platform_Mem_Trim",
                "Platform_Mem_BreakAlloc")) {
            assertTrue(declared.contains(name), name + " is declared in platform_memory.h");
        }
        for (String name : declared) {
            assertTrue(library.find(name).isPresent(), name + " is exported by libplatform_memory.so");
        }
    }
}
