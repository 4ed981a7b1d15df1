package org.platformmemory.ffi;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.platformmemory.api.TrackedAllocator;

/**
 * The allocation sites of C callers for the facade's leak reports: {@code file:line} from
 * {@code Platform_Alloc_Dbg}, interned by the address of the file's string literal and the line, so a
 * call looks its site up without reading the string again. Thread-safe.
 */
final class CSites {

    /** A C allocation site: the address of its {@code __FILE__} string and the line. */
    private record Key(long file, int line) {
    }

    private static final Map<Key, Integer> SITES = new ConcurrentHashMap<>();
    private static volatile int unknown;

    private CSites() {
    }

    /** Forgets every site: a new facade {@code memory} has started. */
    static void reset(TrackedAllocator memory) {
        unknown = memory.site(null, 0);
        SITES.clear();
    }

    /** The site id of a C caller that gave no site. */
    static int unknown() {
        return unknown;
    }

    /** The site id of {@code file:line} ({@code file} 0: none given). */
    static int of(TrackedAllocator memory, long file, int line) {
        if (file == 0) {
            return unknown;
        }
        Key key = new Key(file, line);
        Integer id = SITES.get(key);
        if (id == null) {
            String name = MemorySegment.ofAddress(file).reinterpret(4096).getString(0);
            id = memory.site(name, line);
            SITES.put(key, id);
        }
        return id;
    }
}
