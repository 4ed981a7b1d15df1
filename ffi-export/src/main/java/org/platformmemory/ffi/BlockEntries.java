package org.platformmemory.ffi;

import java.lang.foreign.MemorySegment;

import org.platformmemory.api.MemoryStats;
import org.platformmemory.api.Tracking;
import org.platformmemory.api.TrackedAllocator;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The call table's entries that allocate, free and resize blocks for the C ABI, and its block-wide
 * calls (size, discard, trim, statistics, the debugger break, the exit checks). The {@code _at} forms
 * carry the call stack the shim recorded (tracking {@code leaks} and {@code debug}, sampled allocations);
 * the plain ones are theirs without a stack. Each catches everything: no exception reaches the C caller.
 * Pointers cross as {@code long}, so the entries allocate nothing on the Java heap.
 */
final class BlockEntries {

    private BlockEntries() {
    }

    static long alloc(long size, int flags) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null ? m.allocate(size, flags, 16, CSites.unknown()) : NativeExports.closed("Platform_Alloc");
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Alloc", t);
        }
    }

    static void free(long ptr, long size) {
        freeAt(ptr, size, 0);
    }

    /** An allocation whose call stack the shim recorded: {@code stack} (0: none could be). */
    static long allocAt(long size, long alignment, int flags, int stack) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null ? m.allocate(size, flags, alignment, site(stack)) : NativeExports.closed("Platform_Alloc");
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Alloc", t);
        }
    }

    static long reallocAt(long ptr, long oldSize, long newSize, int stack) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return NativeExports.closed("Platform_Realloc");
            }
            if (ptr == 0) {
                return m.allocate(newSize, 0, 16, site(stack));
            }
            if (newSize == 0) {
                m.free(ptr, oldSize, site(stack));
                return 0;
            }
            return m.reallocate(ptr, oldSize, newSize);
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Realloc", t);
        }
    }

    /** A free whose call stack the shim recorded ({@code debug}: the block's record keeps it). */
    static void freeAt(long ptr, long size, int stack) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m != null) {
                m.free(ptr, size, site(stack));
            } else {
                NativeExports.closed("Platform_Free");
            }
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Free", t);
        }
    }

    /** The site id of a stack the shim recorded, or of "a C caller" when it could record none. */
    static int site(int stack) {
        return stack > 0 ? TrackedAllocator.stackSite(stack) : CSites.unknown();
    }

    /** {@code Platform_Mem_BreakAlloc}: the allocation number that reports BREAK_ALLOC (0: none). */
    static void setBreak(long number) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m != null) {
                m.setBreakAlloc(number);
            }
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_BreakAlloc", t);
        }
    }

    /** The process is exiting (a C host): the heap check of {@code debug}, the leak report of {@code leakReport=exit}. */
    static void exitChecks() {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m != null) {
                m.exitChecks();
            }
        } catch (Throwable t) {
            NativeExports.internalError("the exit checks", t);
        }
    }

    static long realloc(long ptr, long oldSize, long newSize) {
        return reallocAt(ptr, oldSize, newSize, 0);
    }

    static long allocAligned(long size, long alignment, int flags) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null ? m.allocate(size, flags, alignment, CSites.unknown()) : NativeExports.closed("Platform_AllocAligned");
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_AllocAligned", t);
        }
    }

    static long allocDbg(long size, int flags, long file, int line) {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m == null) {
                return NativeExports.closed("Platform_Alloc_Dbg");
            }
            return m.allocate(size, flags, 16, m.tracking() == Tracking.COUNTERS ? CSites.unknown() : CSites.of(m, file, line));
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Alloc_Dbg", t);
        }
    }

    static long size(long ptr) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null ? m.sizeOf(ptr) : 0;
        } catch (Throwable t) {
            return NativeExports.internalError("Platform_Mem_Size", t);
        }
    }

    static int discard(long ptr, long offset, long size) {
        try {
            TrackedAllocator m = NativeExports.memory();
            return m != null && m.discard(ptr, offset, size) ? 1 : 0;
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_Discard", t);
            return 0;
        }
    }

    static void trim() {
        try {
            TrackedAllocator m = NativeExports.memory();
            if (m != null) {
                m.trim();
            }
        } catch (Throwable t) {
            NativeExports.internalError("Platform_Mem_Trim", t);
        }
    }

    static void getStats(long out) {
        try {
            TrackedAllocator m = NativeExports.memory();
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
            NativeExports.internalError("Platform_Mem_GetStats", t);
        }
    }
}
