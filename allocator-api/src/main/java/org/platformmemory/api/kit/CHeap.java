package org.platformmemory.api.kit;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Hands the C library's free memory back to the system: glibc's {@code malloc_trim(0)}, which gives back
 * (MADV_DONTNEED) every free page of every malloc arena, not only the top of the main heap.
 *
 * <p>Backends whose memory comes from {@code malloc} (libc itself, the JDK's direct buffers) need it:
 * glibc raises its mmap threshold each time an mmapped block is freed, so later large blocks live inside
 * its heaps, and a block freed there stays resident until something trims.
 *
 * <p>Where there is no {@code malloc_trim} (another C library, no native access) {@link #trim} does
 * nothing. A trim walks the C library's free lists (milliseconds for a large heap): callers do it rarely.
 * Linked on first use; thread-safe.
 */
public final class CHeap {

    private CHeap() {
    }

    /** Whether this C library can give free memory back on demand. */
    public static boolean canTrim() {
        return Trim.MALLOC_TRIM != null;
    }

    /** Gives the C library's free pages back to the system; does nothing where that is not possible. */
    public static void trim() {
        MethodHandle h = Trim.MALLOC_TRIM;
        if (h == null) {
            return;
        }
        try {
            int ignored = (int) h.invokeExact(0L);
        } catch (Throwable e) {
            // a trim only gives memory back: there is nothing to undo or report
        }
    }

    /**
     * The bytes the C library holds from the system for its heap (glibc's {@code mallinfo2}: the heaps'
     * arenas plus the blocks it mapped on their own), used or free; -1 where there is no {@code mallinfo2}.
     * The whole process shares it (the JVM's own native memory too). Takes every malloc arena's lock.
     */
    public static long mapped() {
        MethodHandle h = Info.MALLINFO2;
        if (h == null) {
            return -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) h.invokeExact((SegmentAllocator) arena);
            return info.get(ValueLayout.JAVA_LONG, 0) + info.get(ValueLayout.JAVA_LONG, 4 * 8); // arena + hblkhd
        } catch (Throwable e) {
            return -1;
        }
    }

    private static final class Info {
        // struct mallinfo2: ten size_t fields, arena first, hblkhd fifth
        static final MethodHandle MALLINFO2 = find("mallinfo2",
            FunctionDescriptor.of(MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("arena"),
                ValueLayout.JAVA_LONG.withName("ordblks"), ValueLayout.JAVA_LONG.withName("smblks"),
                ValueLayout.JAVA_LONG.withName("hblks"), ValueLayout.JAVA_LONG.withName("hblkhd"),
                ValueLayout.JAVA_LONG.withName("usmblks"), ValueLayout.JAVA_LONG.withName("fsmblks"),
                ValueLayout.JAVA_LONG.withName("uordblks"), ValueLayout.JAVA_LONG.withName("fordblks"),
                ValueLayout.JAVA_LONG.withName("keepcost"))));
    }

    private static MethodHandle find(String name, FunctionDescriptor descriptor) {
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find(name).map(s -> linker.downcallHandle(s, descriptor)).orElse(null);
        } catch (RuntimeException | LinkageError e) { // no native access
            return null;
        }
    }

    private static final class Trim {
        static final MethodHandle MALLOC_TRIM = find("malloc_trim", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    }
}
