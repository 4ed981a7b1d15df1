package org.platformmemory.api.kit;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

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

    private static final class Trim {
        static final MethodHandle MALLOC_TRIM = find();

        private static MethodHandle find() {
            try {
                Linker linker = Linker.nativeLinker();
                Optional<MemorySegment> symbol = linker.defaultLookup().find("malloc_trim");
                return symbol.map(s -> linker.downcallHandle(s,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG))).orElse(null);
            } catch (RuntimeException | LinkageError e) { // no native access
                return null;
            }
        }
    }
}
