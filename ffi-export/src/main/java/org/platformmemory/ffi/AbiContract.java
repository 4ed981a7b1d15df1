package org.platformmemory.ffi;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongBiFunction;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.MemoryStats;
import org.platformmemory.api.TrackedAllocator;

/**
 * The Java half of the C ABI's contract, and the check that both halves agree.
 *
 * <p>The shim describes its half (platform_memory_shim.h: the call table, {@code PlatformMemStats}, the
 * error codes and the stat ids, each an X-macro list) in a text it passes to {@link NativeExports#install};
 * {@link #check} compares it, item by item and by name, with what this side is built with: the table
 * entries of {@link NativeExports} (names in order, each {@link FunctionDescriptor} against the sizes of
 * the C types), {@link StatsField} (the order {@code getStats} writes), {@link ErrorCode} with
 * {@link NativeExports#OK}, {@link NativeExports#ERR_START} and {@link NativeExports#ERR_INTERNAL}, and the
 * {@code STAT_*} ids. Any difference makes {@code install} refuse, so {@code Platform_Mem_Init} fails
 * with a message naming it, instead of a call landing in the wrong entry. The shim's bounds that the jars
 * follow ({@link #BOUNDS}) are not repeated here: they are read from the description ({@link #bound}).
 */
public final class AbiContract {

    /** The format of the shim's description this class reads ({@code abi 1}). */
    static final int FORMAT = 1;

    /** The stat entry's figures: {@code PM_STAT_<NAME>} in platform_memory_shim.h. */
    static final int STAT_LIVE_BYTES = 0;
    static final int STAT_PEAK_BYTES = 1;
    static final int STAT_LIVE_BLOCKS = 2;
    static final int STAT_RAM_FREE = 3;
    static final int STAT_RAM_TOTAL = 4;
    static final int STAT_MAPPED = 5;
    static final int STAT_RESIDENT = 6;

    private static final Map<String, Integer> STAT_IDS = Map.of("LIVE_BYTES", STAT_LIVE_BYTES,
        "PEAK_BYTES", STAT_PEAK_BYTES, "LIVE_BLOCKS", STAT_LIVE_BLOCKS, "RAM_FREE", STAT_RAM_FREE,
        "RAM_TOTAL", STAT_RAM_TOTAL, "MAPPED", STAT_MAPPED, "RESIDENT", STAT_RESIDENT);

    /** The fields of {@code PlatformMemStats} this side writes, in order, each 8 bytes from offset 0. */
    enum StatsField {
        LIVE_BYTES((s, m) -> s.liveBytes()),
        LIVE_BLOCKS((s, m) -> s.liveBlocks()),
        PEAK_BYTES((s, m) -> s.peakBytes()),
        ALLOCATIONS((s, m) -> s.allocations()),
        FREES((s, m) -> s.frees()),
        REALLOCATIONS((s, m) -> s.reallocations()),
        FAILED_ALLOCATIONS((s, m) -> s.failedAllocations()),
        CALLER_ERRORS((s, m) -> s.callerErrors()),
        LIMIT((s, m) -> s.limit()),
        RAM_FREE((s, m) -> m.ramFree()),
        RAM_TOTAL((s, m) -> m.ramTotal());

        /** Every field's size: a {@code uint64_t}. */
        static final long SIZE = 8;
        private static final StatsField[] ALL = values();

        private final ToLongBiFunction<MemoryStats, TrackedAllocator> value;

        StatsField(ToLongBiFunction<MemoryStats, TrackedAllocator> value) {
            this.value = value;
        }

        /** The C field's name. */
        String cName() {
            return name().toLowerCase(Locale.ROOT);
        }

        long offset() {
            return ordinal() * SIZE;
        }

        long value(MemoryStats stats, TrackedAllocator memory) {
            return value.applyAsLong(stats, memory);
        }

        static StatsField[] all() {
            return ALL;
        }
    }

    /** The shim's bounds the jars follow, by name ({@code bound NAME VALUE}), and the C macro each comes from. */
    static final Map<String, String> BOUNDS = Map.of("CACHE_LARGEST", "PLATFORM_MEM_CACHE_LARGEST");

    private static volatile String lastShimDescription;

    private AbiContract() {
    }

    /** The description the shim passed last (for tests and diagnostics), or null. */
    static String lastShimDescription() {
        return lastShimDescription;
    }

    /** The error codes this side uses, by their C name ({@code PLATFORM_MEM_ERR_<NAME>}; {@code OK}). */
    static Map<String, Integer> errorCodes() {
        Map<String, Integer> codes = new LinkedHashMap<>();
        codes.put("OK", NativeExports.OK);
        for (ErrorCode e : ErrorCode.values()) {
            codes.put(e.name(), e.code());
        }
        codes.put("START", NativeExports.ERR_START);
        codes.put("INTERNAL", NativeExports.ERR_INTERNAL);
        return codes;
    }

    /** {@code allocAligned} -> {@code alloc_aligned}: a Java entry's name as the shim's field. */
    static String cName(String javaName) {
        // a loop, not a regular expression: this runs for every entry at each start, in cold code
        StringBuilder out = new StringBuilder(javaName.length() + 4);
        for (int i = 0; i < javaName.length(); i++) {
            char c = javaName.charAt(i);
            if (i > 0 && c >= 'A' && c <= 'Z') {
                char before = javaName.charAt(i - 1);
                if (before >= 'a' && before <= 'z' || before >= '0' && before <= '9') {
                    out.append('_');
                }
            }
            out.append(Character.toLowerCase(c));
        }
        return out.toString();
    }

    /**
     * The bound {@code name} (one of {@link #BOUNDS}) of a description {@link #check} accepted: for
     * {@code CACHE_LARGEST}, the largest request the shim's caches can serve, the top and the default of
     * {@code fastpath.largest}.
     */
    static long bound(String shim, String name) {
        for (String line : shim.split("\n")) {
            String[] w = line.trim().split(" ");
            if (w[0].equals("bound") && w.length == 3 && w[1].equals(name)) {
                return Long.parseLong(w[2]);
            }
        }
        throw new IllegalArgumentException("the shim's description has no bound " + name);
    }

    /** The addresses of the shim's services (PM_SERVICES) by Java name, from a description {@link #check} accepted. */
    static Map<String, Long> serviceAddresses(String shim) {
        Map<String, Long> addresses = new LinkedHashMap<>();
        for (String line : shim.split("\n")) {
            String[] w = line.trim().split(" ", 4);
            if (w[0].equals("service") && w.length == 4) {
                String name = w[2];
                StringBuilder java = new StringBuilder();
                for (String part : name.split("_")) {
                    java.append(java.isEmpty() ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
                }
                addresses.put(java.toString(), Long.decode(w[3].substring(w[3].lastIndexOf(' ') + 1)));
            }
        }
        return addresses;
    }

    /**
     * Compares the shim's description with this side.
     *
     * @param shim    the shim's description (see platform_memory.c, pm_abi_description), or null
     * @param entries this side's table entries in order: Java method name and descriptor
     * @return null when they agree, else a message naming every difference
     */
    static String check(String shim, List<Map.Entry<String, FunctionDescriptor>> entries) {
        lastShimDescription = shim;
        List<String> problems = new ArrayList<>();
        if (shim == null || !shim.startsWith("abi ")) {
            return "the shim gave no description of its ABI: the jars and libplatform_memory.so come from "
                + "different builds";
        }
        Map<String, Long> types = new LinkedHashMap<>();
        List<String[]> calls = new ArrayList<>();
        List<String[]> services = new ArrayList<>();
        List<String[]> stats = new ArrayList<>();
        Map<String, Integer> errors = new LinkedHashMap<>();
        Map<String, Integer> statIds = new LinkedHashMap<>();
        long statsSize = -1;
        Map<String, Long> bounds = new LinkedHashMap<>();
        for (String line : shim.split("\n")) {
            String[] w = line.trim().split(" ", 4);
            try {
                switch (w[0]) {
                    case "abi" -> {
                        if (Integer.parseInt(w[1]) != FORMAT) {
                            return "the shim describes its ABI in format " + w[1] + ", the jars read format "
                                + FORMAT + ": the jars and libplatform_memory.so come from different builds";
                        }
                    }
                    case "type" -> types.put(w[1], Long.parseLong(w[2]));
                    case "call" -> calls.add(new String[] {w[2], w[3]});
                    case "service" -> services.add(new String[] {w[2], w[3].substring(0, w[3].lastIndexOf(' '))});
                    case "stats" -> stats.add(w);
                    case "stats_size" -> statsSize = Long.parseLong(w[1]);
                    case "error" -> errors.put(w[1], Integer.parseInt(w[2]));
                    case "stat" -> statIds.put(w[1], Integer.parseInt(w[2]));
                    case "bound" -> bounds.put(w[1], Long.parseLong(w[2]));
                    case "" -> { }
                    default -> problems.add("the shim describes an unknown item '" + line + "'");
                }
            } catch (RuntimeException e) {
                problems.add("the shim's description has a malformed line '" + line + "'");
            }
        }
        checkCalls("call table entry", calls, types, entries, problems);
        List<Map.Entry<String, FunctionDescriptor>> expected = new ArrayList<>(ShimCache.SERVICES);
        expected.addAll(CStacks.SERVICES);
        checkCalls("shim service", services, types, expected, problems);
        checkStats(stats, statsSize, problems);
        checkNamed("error code", "PLATFORM_MEM_ERR_", errors, errorCodes(), problems);
        checkNamed("stat id", "PM_STAT_", statIds, STAT_IDS, problems);
        checkBounds(bounds, problems);
        if (problems.isEmpty()) {
            return null;
        }
        return "the jars and libplatform_memory.so disagree on the ABI (they come from different builds, or "
            + "one side was changed without the other): " + String.join("; ", problems);
    }

    private static void checkCalls(String what, List<String[]> calls, Map<String, Long> types,
                                   List<Map.Entry<String, FunctionDescriptor>> entries, List<String> problems) {
        int n = Math.max(calls.size(), entries.size());
        for (int i = 0; i < n; i++) {
            String cField = i < calls.size() ? calls.get(i)[0] : null;
            String javaField = i < entries.size() ? cName(entries.get(i).getKey()) : null;
            if (cField == null) {
                problems.add(what + " " + i + " is '" + javaField + "' in the jars but the shim's table "
                    + "ends before it");
                continue;
            }
            if (javaField == null) {
                problems.add(what + " " + i + " is '" + cField + "' in the shim but the jars' table ends "
                    + "before it");
                continue;
            }
            if (!cField.equals(javaField)) {
                problems.add(what + " " + i + " is '" + cField + "' in the shim but '" + javaField
                    + "' in the jars");
                continue;
            }
            String cSignature = calls.get(i)[1];
            String cSizes = sizes(cSignature, types);
            String javaSizes = sizes(entries.get(i).getValue());
            if (!cSizes.equals(javaSizes)) {
                problems.add(what + " " + i + " '" + cField + "' is " + cSignature + " in the shim, sizes "
                    + cSizes + ", but " + javaSizes + " in the jars (" + entries.get(i).getValue() + ")");
            }
        }
    }

    /** "RET(P1, P2)" with C type names -> "(8,4)->8" by the sizes the shim gave; "?" for an unknown type. */
    static String sizes(String signature, Map<String, Long> types) {
        int open = signature.indexOf('(');
        int close = signature.lastIndexOf(')');
        if (open < 0 || close < open) {
            return "?" + signature;
        }
        String ret = signature.substring(0, open).trim();
        List<String> params = new ArrayList<>();
        for (String p : signature.substring(open + 1, close).split(",")) {
            String t = p.trim();
            if (!t.isEmpty() && !t.equals("void")) {
                params.add(size(t, types));
            }
        }
        return "(" + String.join(",", params) + ")->" + (ret.equals("void") ? "void" : size(ret, types));
    }

    private static String size(String type, Map<String, Long> types) {
        Long size = types.get(type);
        return size == null ? "?" + type : size.toString();
    }

    /** A descriptor's sizes in the form of {@link #sizes(String, Map)}. */
    static String sizes(FunctionDescriptor descriptor) {
        List<String> params = new ArrayList<>();
        for (MemoryLayout p : descriptor.argumentLayouts()) {
            params.add(Long.toString(p.byteSize()));
        }
        return "(" + String.join(",", params) + ")->"
            + descriptor.returnLayout().map(r -> Long.toString(r.byteSize())).orElse("void");
    }

    private static void checkStats(List<String[]> stats, long statsSize, List<String> problems) {
        Map<String, String[]> byName = new LinkedHashMap<>();
        for (String[] s : stats) {
            byName.put(s[1], s);
        }
        StatsField[] fields = StatsField.all();
        for (int i = 0; i < fields.length; i++) {
            StatsField f = fields[i];
            String[] c = byName.remove(f.cName());
            String at = i < stats.size() ? stats.get(i)[1] : null;
            if (c == null) {
                problems.add("statistics field " + i + " is '" + f.cName() + "' in the jars but "
                    + (at == null ? "PlatformMemStats ends before it" : "'" + at + "'") + " in the shim, which has "
                    + "no field '" + f.cName() + "'");
                continue;
            }
            String[] w = c[3].split(" ");
            long offset = Long.parseLong(c[2]);
            long size = Long.parseLong(w[0]);
            if (offset != f.offset() || size != StatsField.SIZE) {
                problems.add("statistics field " + i + " is '" + (at != null ? at : f.cName()) + "' in the shim but '"
                    + f.cName() + "' in the jars ('" + f.cName() + "' is at offset " + offset + ", size " + size
                    + " in the shim; the jars write it at offset " + f.offset() + ", size " + StatsField.SIZE + ")");
            } else if (!"JAVA".equals(w.length > 1 ? w[1] : "")) {
                problems.add("statistics field '" + f.cName() + "' is filled by the shim (" + w[1]
                    + ") and written by the jars too");
            }
        }
        for (String[] rest : byName.values()) {
            String writer = rest[3].split(" ").length > 1 ? rest[3].split(" ")[1] : "";
            if (!writer.equals("C")) {
                problems.add("statistics field '" + rest[1] + "' (offset " + rest[2] + ") is in the shim's "
                    + "PlatformMemStats for the jars to fill, but the jars do not write it");
            }
        }
        long written = fields.length * StatsField.SIZE;
        if (statsSize >= 0 && written > statsSize) {
            problems.add("the jars write " + written + " bytes of statistics but the shim's PlatformMemStats has "
                + statsSize);
        }
    }

    /** Each of {@link #BOUNDS} is described once, as a power of two from 4 KiB to 1 TiB; no other bound is. */
    private static void checkBounds(Map<String, Long> bounds, List<String> problems) {
        for (Map.Entry<String, String> b : BOUNDS.entrySet()) {
            Long value = bounds.get(b.getKey());
            if (value == null) {
                problems.add("the shim describes no bound " + b.getKey() + " (" + b.getValue() + "), which the jars need");
            } else if (value < 4096 || value > 1L << 40 || Long.bitCount(value) != 1) {
                problems.add("bound " + b.getKey() + " (" + b.getValue() + ") is " + value + " in the shim; the jars "
                    + "need a power of two from 4096 to 2^40");
            }
        }
        for (String name : bounds.keySet()) {
            if (!BOUNDS.containsKey(name)) {
                problems.add("bound " + name + " is in the shim but not in the jars");
            }
        }
    }

    private static void checkNamed(String what, String prefix, Map<String, Integer> shim, Map<String, Integer> jars,
                                   List<String> problems) {
        for (Map.Entry<String, Integer> e : jars.entrySet()) {
            Integer c = shim.get(e.getKey());
            if (c == null) {
                problems.add(what + " " + e.getKey() + " (" + e.getValue() + ") is in the jars but the shim has no "
                    + prefix + e.getKey());
            } else if (!c.equals(e.getValue())) {
                problems.add(what + " " + e.getKey() + " is " + c + " in the shim but " + e.getValue() + " in the jars");
            }
        }
        for (Map.Entry<String, Integer> e : shim.entrySet()) {
            if (!jars.containsKey(e.getKey())) {
                problems.add(what + " " + e.getKey() + " (" + e.getValue() + ") is in the shim but not in the jars");
            }
        }
    }
}
