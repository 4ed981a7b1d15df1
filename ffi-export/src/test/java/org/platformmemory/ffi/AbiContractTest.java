package org.platformmemory.ffi;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract check: the real shim's description matches the jars, and each kind of disagreement (the
 * shim's description doctored as a change on one side would make it) is refused with a message naming
 * it. The C tests (contract_* in ffi-export/src/test/c) do the same through real builds of the shim.
 */
class AbiContractTest {

    private static String shim;

    @BeforeAll
    static void describeTheRealShim() throws Throwable {
        Path library = Path.of(System.getProperty("platform.memory.library"));
        assertEquals(0, NativeExports.loadAndStart(library, "backend=system"), "Platform_Mem_Init");
        shim = AbiContract.lastShimDescription();
        assertNotNull(shim, "the shim described its ABI at install");
        MethodHandle shutdown = Linker.nativeLinker().downcallHandle(
            SymbolLookup.loaderLookup().findOrThrow("Platform_Mem_Shutdown"), FunctionDescriptor.ofVoid());
        shutdown.invokeExact();
    }

    private static String check(String description) {
        return AbiContract.check(description, CallTable.entries());
    }

    private static String doctor(String from, String to) {
        assertTrue(shim.contains(from), () -> "the real description has '" + from + "':\n" + shim);
        return shim.replace(from, to);
    }

    private static void refused(String description, String expected) {
        String message = check(description);
        assertNotNull(message, "refused");
        assertTrue(message.contains(expected), () -> "'" + expected + "' in: " + message);
    }

    @Test
    void shouldNameEveryEntryAndServiceInTheShimsStyle() {
        for (String name : new String[] {"alloc", "allocAligned", "cacheTagTotals", "heapSize", "x2Y", "ABc", "aBC"}) {
            // the rule, as a regular expression: an upper-case letter after a lower-case one or a digit starts a word
            String expected = name.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
            assertEquals(expected, AbiContract.cName(name), name);
        }
        for (var entry : CallTable.entries()) {
            assertEquals(entry.getKey().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT),
                AbiContract.cName(entry.getKey()));
        }
    }

    @Test
    void shouldAcceptTheRealShim() {
        assertNull(check(shim), () -> check(shim) + "\n" + shim);
    }

    @Test
    void shouldNameTwoSwappedEntriesOfTheSameSignature() {
        String swapped = doctor("call 3 alloc_aligned", "call 3 SWAP").replace("call 9 heap_alloc", "call 9 alloc_aligned")
            .replace("call 3 SWAP", "call 3 heap_alloc");
        refused(swapped, "call table entry 3 is 'heap_alloc' in the shim but 'alloc_aligned' in the jars");
        refused(swapped, "call table entry 9 is 'alloc_aligned' in the shim but 'heap_alloc' in the jars");
    }

    @Test
    void shouldNameTwoSwappedEntriesOfDifferentSignatures() {
        String swapped = doctor("call 1 free", "call 1 SWAP").replace("call 2 realloc", "call 2 free")
            .replace("call 1 SWAP", "call 1 realloc");
        refused(swapped, "call table entry 1 is 'realloc' in the shim but 'free' in the jars");
    }

    @Test
    void shouldNameAChangedSignature() {
        refused(doctor("free void(pm_ptr, pm_size)", "free void(pm_ptr, pm_size, pm_size)"),
            "'free' is void(pm_ptr, pm_size, pm_size) in the shim, sizes (8,8,8)->void, but (8,8)->void in the jars");
        refused(doctor("type pm_u32 4", "type pm_u32 8"), "'alloc' is pm_ptr(pm_size, pm_u32) in the shim, sizes (8,8)->8, but (8,4)->8");
    }

    @Test
    void shouldNameAnEntryOnOneSideOnly() {
        int next = CallTable.entries().size();
        refused(shim + "call " + next + " compact void(void)\n",
            "call table entry " + next + " is 'compact' in the shim but the jars' table ends");
    }

    @Test
    void shouldNameAStatisticsFieldAddedInTheShim() {
        refused(doctor("stats ram_free 72 8 JAVA\nstats ram_total 80 8 JAVA\nstats start_failures 88 8 C\n"
                + "stats start_us 96 8 C\nstats aot_cache 104 8 C\nstats mapped_bytes 112 8 C\n"
                + "stats resident_bytes 120 8 C\nstats_size 128",
                "stats heap_count 72 8 JAVA\nstats ram_free 80 8 JAVA\nstats ram_total 88 8 JAVA\n"
                    + "stats start_failures 96 8 C\nstats start_us 104 8 C\nstats aot_cache 112 8 C\n"
                    + "stats mapped_bytes 120 8 C\nstats resident_bytes 128 8 C\nstats_size 136"),
            "statistics field 9 is 'heap_count' in the shim but 'ram_free' in the jars");
    }

    @Test
    void shouldNameAStatisticsFieldTheShimLacks() {
        refused(doctor("stats ram_total 80 8 JAVA\n", ""),
            "statistics field 10 is 'ram_total' in the jars but 'start_failures' in the shim, which has no field 'ram_total'");
    }

    @Test
    void shouldNameARenumberedErrorCode() {
        refused(doctor("error CLOSED 12\n", "error CLOSED 14\n"), "error code CLOSED is 14 in the shim but 12 in the jars");
    }

    @Test
    void shouldNameAnErrorCodeOnOneSideOnly() {
        refused(doctor("error INVALID_HEAP 13\n", ""),
            "error code INVALID_HEAP (13) is in the jars but the shim has no PLATFORM_MEM_ERR_INVALID_HEAP");
        refused(shim + "error OUT_OF_HEAPS 14\n", "error code OUT_OF_HEAPS (14) is in the shim but not in the jars");
    }

    @Test
    void shouldNameARenumberedStatId() {
        refused(doctor("stat PEAK_BYTES 1\nstat LIVE_BLOCKS 2\n", "stat LIVE_BLOCKS 1\nstat PEAK_BYTES 2\n"),
            "stat id PEAK_BYTES is 2 in the shim but 1 in the jars");
    }

    /** The caches' top is the shim's PLATFORM_MEM_CACHE_LARGEST, read from its description, not a copy in the jars. */
    @Test
    void shouldTakeTheCacheBoundFromTheShim() {
        assertEquals(1L << 20, AbiContract.bound(shim, "CACHE_LARGEST"));
        String halved = doctor("bound CACHE_LARGEST 1048576\n", "bound CACHE_LARGEST 524288\n");
        assertNull(check(halved), () -> check(halved));
        assertEquals(1L << 19, AbiContract.bound(halved, "CACHE_LARGEST"));
    }

    @Test
    void shouldNameAMissingOrImpossibleBound() {
        refused(doctor("bound CACHE_LARGEST 1048576\n", ""),
            "the shim describes no bound CACHE_LARGEST (PLATFORM_MEM_CACHE_LARGEST), which the jars need");
        refused(doctor("bound CACHE_LARGEST 1048576\n", "bound CACHE_LARGEST 1000000\n"),
            "bound CACHE_LARGEST (PLATFORM_MEM_CACHE_LARGEST) is 1000000 in the shim");
        refused(shim + "bound DEPOT_HELD 65536\n", "bound DEPOT_HELD is in the shim but not in the jars");
    }

    @Test
    void shouldRefuseAShimThatGivesNoDescription() {
        refused(null, "the shim gave no description of its ABI");
        refused(shim.replace("abi 1", "abi 2"), "format 2");
    }

    /** The public header's error codes are the ones the shim describes and ErrorCode holds, by name. */
    @Test
    void shouldFindEveryErrorCodeOfThePublicHeaderInTheJars() throws Exception {
        String header = Files.readString(Path.of(System.getProperty("platform.memory.header")));
        Map<String, Integer> inHeader = new TreeMap<>();
        Matcher m = Pattern.compile("#define PLATFORM_MEM_(OK|ERR_\\w+)\\s+(\\d+)\\s").matcher(header);
        while (m.find()) {
            inHeader.put(m.group(1).replaceFirst("^ERR_", ""), Integer.parseInt(m.group(2)));
        }
        assertEquals(new TreeMap<>(AbiContract.errorCodes()), inHeader);
    }
}
