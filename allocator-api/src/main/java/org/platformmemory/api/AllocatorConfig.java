package org.platformmemory.api;

import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code allocator.*} settings, read once and validated by typed getters whose error messages name
 * the key, the value and what is allowed.
 *
 * <p>Sources, highest precedence first: options given explicitly ({@link #parse}), then Java system
 * properties, then the environment ({@code ALLOCATOR_BACKEND} for {@code allocator.backend}).
 * Immutable and thread-safe; it remembers which keys were read so that a misspelt key can be reported.
 *
 * <pre>{@code
 * AllocatorConfig config = AllocatorConfig.parse("allocator.backend=arena;allocator.limit=256m");
 * long limit = config.bytes("allocator.limit", 0, 0, Long.MAX_VALUE);
 * }</pre>
 */
public final class AllocatorConfig {

    /** The prefix every key shares. */
    public static final String PREFIX = "allocator.";
    /** Selects the backend by provider name. */
    public static final String BACKEND = "allocator.backend";
    /** The byte budget: allocations beyond it return 0. {@code 0} means none. */
    public static final String LIMIT = "allocator.limit";
    /** {@code counters}, {@code leaks} or {@code debug}: see {@link Tracking}. */
    public static final String TRACKING = "allocator.tracking";
    /**
     * {@code tracking=debug} only: the bytes of freed blocks held back (filled with 0xDD) before the backend
     * may reuse them, so writes after free and stale frees are found; {@code 0} turns it off.
     */
    public static final String QUARANTINE = "allocator.quarantine";
    /** {@code tracking=debug} only: the most freed blocks the quarantine holds at once. */
    public static final String QUARANTINE_BLOCKS = "allocator.quarantineBlocks";
    /** {@code quiet}, {@code errors} or {@code verbose}: what the layer logs, see {@link LogLevel}. */
    public static final String LOG = "allocator.log";
    /**
     * {@code true}: the C ABI makes errors fail the run ({@code Platform_Mem_Shutdown} and process exit
     * report how many there were, and the process exits with a non-zero status); see platform_memory.h.
     */
    public static final String FAIL_ON_ERROR = "allocator.failOnError";
    /**
     * {@code HOST:PORT}: serve the live view of the memory insights there while the allocator is open
     * (port 0: any free port; a bare port: the loopback address); unset or {@code off}: no live view.
     * See {@code org.platformmemory.api.view.LiveView}.
     */
    public static final String INSIGHTS = "allocator.insights";
    /**
     * Frames kept of each allocation's call stack by the C ABI in {@code leaks} and {@code debug} (and for
     * sampled allocations): 1 to 64, 16 by default; {@code 0} records no stacks ({@code file:line} of
     * {@code Platform_Alloc_Dbg} only).
     */
    public static final String STACK_DEPTH = "allocator.stackDepth";
    /**
     * {@code counters} only: about one allocation per this many bytes allocated (at random intervals) has
     * its call stack recorded by the C ABI, and the insights show the top stacks by live bytes, scaled up
     * as estimates. {@code 0} (the default): off.
     */
    public static final String SAMPLE = "allocator.sample";
    /**
     * {@code leaks} and {@code debug}: the allocation number (1 for the first) whose making reports
     * {@link ErrorCode#BREAK_ALLOC} and, through the C ABI under a debugger, raises {@code SIGTRAP}; 0: none.
     */
    public static final String BREAK_ALLOC = "allocator.breakAlloc";
    /** {@code debug}: checks the whole heap (guards, quarantine) every this many allocator calls; 0: never. */
    public static final String CHECK_EVERY = "allocator.checkEvery";
    /** {@code exit}: the leak report of every block still live is written to stderr at process exit; {@code off}. */
    public static final String LEAK_REPORT = "allocator.leakReport";
    /** The environment variable read when {@code allocator.backend} is not a system property. */
    public static final String BACKEND_ENV = "ALLOCATOR_BACKEND";

    private final Map<String, String> values;
    private final Set<String> read = ConcurrentHashMap.newKeySet();

    private AllocatorConfig(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    }

    /** No settings: every getter returns its default. */
    public static AllocatorConfig empty() {
        return new AllocatorConfig(Map.of());
    }

    /** The given settings; keys without the {@code allocator.} prefix get it. */
    public static AllocatorConfig of(Map<String, String> settings) {
        Map<String, String> values = new TreeMap<>();
        settings.forEach((key, value) -> values.put(qualify(key), value.strip()));
        return new AllocatorConfig(values);
    }

    /** The {@code allocator.*} system properties and {@code ALLOCATOR_BACKEND}. */
    public static AllocatorConfig fromEnvironment() {
        return parse("");
    }

    /**
     * Explicit options in the C ABI's form {@code key=value;key=value} (also split on newlines), layered
     * over {@link #fromEnvironment()}: an explicit option wins.
     *
     * @throws InvalidConfigException if an entry has no {@code =} or an empty key
     */
    public static AllocatorConfig parse(String options) {
        Map<String, String> values = new TreeMap<>();
        String env = System.getenv(BACKEND_ENV);
        if (env != null && !env.isBlank()) {
            values.put(BACKEND, env.strip());
        }
        System.getProperties().forEach((k, v) -> {
            if (k instanceof String key && key.startsWith(PREFIX) && v instanceof String value) {
                values.put(key, value.strip());
            }
        });
        if (options != null) {
            for (String entry : options.split("[;\\n]")) {
                if (entry.isBlank()) {
                    continue;
                }
                int eq = entry.indexOf('=');
                if (eq <= 0) {
                    throw new InvalidConfigException("option '" + entry.strip()
                        + "' is not of the form key=value (options are separated by ';', for example"
                        + " allocator.backend=arena;allocator.limit=256m)");
                }
                values.put(qualify(entry.substring(0, eq).strip()), entry.substring(eq + 1).strip());
            }
        }
        return new AllocatorConfig(values);
    }

    private static String qualify(String key) {
        String k = key.strip();
        return k.startsWith(PREFIX) ? k : PREFIX + k;
    }

    /** Every setting, by full key. */
    public Map<String, String> asMap() {
        return values;
    }

    /** The raw value of {@code key}, or {@code null}. Marks the key as read. */
    public String raw(String key) {
        read.add(key);
        return values.get(key);
    }

    /** The backend name: {@code allocator.backend}, or {@code defaultName} when it is not set. */
    public String backend(String defaultName) {
        String name = raw(BACKEND);
        return name == null || name.isEmpty() ? defaultName : name.toLowerCase(Locale.ROOT);
    }

    /**
     * A byte size: a whole number with an optional {@code k}, {@code m}, {@code g} or {@code t} suffix
     * (binary units, case-insensitive, an optional trailing {@code b} or {@code ib}).
     *
     * @throws InvalidConfigException if the value is not such a number or lies outside {@code [min, max]}
     */
    public long bytes(String key, long defaultValue, long min, long max) {
        String value = raw(key);
        if (value == null || value.isEmpty()) {
            return defaultValue;
        }
        long parsed = parseBytes(value);
        if (parsed < 0) {
            throw new InvalidConfigException(key + ": '" + value + "' is not a byte size; use a whole number"
                + " of bytes with an optional k, m, g or t suffix (for example 256m)");
        }
        if (parsed < min || parsed > max) {
            throw new InvalidConfigException(key + ": '" + value + "' is out of range; allowed: "
                + min + " to " + max + " bytes");
        }
        return parsed;
    }

    /**
     * An integer in {@code [min, max]}.
     *
     * @throws InvalidConfigException if the value is not a whole number in range
     */
    public int integer(String key, int defaultValue, int min, int max) {
        String value = raw(key);
        if (value == null || value.isEmpty()) {
            return defaultValue;
        }
        long parsed;
        try {
            parsed = Long.parseLong(value);
        } catch (NumberFormatException e) {
            parsed = Long.MIN_VALUE;
        }
        if (parsed < min || parsed > max) {
            throw new InvalidConfigException(key + ": '" + value + "' is not allowed; use a whole number from "
                + min + " to " + max);
        }
        return (int) parsed;
    }

    /**
     * {@code true}/{@code false} (also {@code yes}/{@code no}, {@code on}/{@code off}, {@code 1}/{@code 0}).
     *
     * @throws InvalidConfigException for anything else
     */
    public boolean bool(String key, boolean defaultValue) {
        String value = raw(key);
        if (value == null || value.isEmpty()) {
            return defaultValue;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw new InvalidConfigException(key + ": '" + value
                + "' is not allowed; use true or false");
        };
    }

    /**
     * One of an enum's constants, by name, case-insensitive.
     *
     * @throws InvalidConfigException naming the allowed values
     */
    public <E extends Enum<E>> E choice(String key, Class<E> type, E defaultValue) {
        String value = raw(key);
        if (value == null || value.isEmpty()) {
            return defaultValue;
        }
        for (E constant : type.getEnumConstants()) {
            if (constant.name().equalsIgnoreCase(value)) {
                return constant;
            }
        }
        StringBuilder allowed = new StringBuilder();
        for (E constant : type.getEnumConstants()) {
            allowed.append(allowed.isEmpty() ? "" : ", ").append(constant.name().toLowerCase(Locale.ROOT));
        }
        throw new InvalidConfigException(key + ": '" + value + "' is not allowed; use one of: " + allowed);
    }

    /**
     * Fails if a key under {@code prefix} was set but never read: most likely a misspelling.
     *
     * @throws InvalidConfigException listing the unknown keys and the known ones
     */
    public void requireAllRead(String prefix) {
        Set<String> unknown = new TreeSet<>();
        for (String key : values.keySet()) {
            if (key.startsWith(prefix) && !read.contains(key)) {
                unknown.add(key);
            }
        }
        if (!unknown.isEmpty()) {
            Set<String> known = new TreeSet<>();
            for (String key : read) {
                if (key.startsWith(prefix)) {
                    known.add(key);
                }
            }
            throw new InvalidConfigException("unknown setting" + (unknown.size() > 1 ? "s " : " ") + unknown
                + "; known settings here: " + known);
        }
    }

    /** Parses a byte size; returns -1 if it is not one. */
    static long parseBytes(String text) {
        String s = text.strip().toLowerCase(Locale.ROOT).replace("_", "");
        if (s.endsWith("ib")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                case 't' -> shift = 40;
                default -> shift = -1;
            }
            if (shift >= 0) {
                s = s.substring(0, s.length() - 1).strip();
            } else {
                shift = 0;
            }
        }
        if (s.isEmpty() || !s.chars().allMatch(Character::isDigit) || s.length() > 19) {
            return -1;
        }
        long number;
        try {
            number = Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
        if (shift > 0 && number > (Long.MAX_VALUE >> shift)) {
            return -1;
        }
        return number << shift;
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
