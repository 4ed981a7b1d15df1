package org.platformmemory.api.kit;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CHeapTest {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MALLOC = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("malloc"),
        FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FREE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("free"),
        FunctionDescriptor.ofVoid(JAVA_LONG));

    /** This process's anonymous resident memory (RssAnon), in bytes. */
    private static long rssAnon() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("RssAnon:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new IllegalStateException("no RssAnon in /proc/self/status");
    }

    @Test
    void shouldGiveTheCHeapsFreePagesBack() throws Throwable {
        assertTrue(CHeap.canTrim(), "glibc has malloc_trim");
        // 64 MiB in blocks below glibc's mmap threshold, then one more that keeps the heap's top in use, so
        // that freeing the others leaves their pages inside the heap, resident until something trims
        long[] blocks = new long[16_384];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = (long) MALLOC.invokeExact(4096L);
            assertNotEquals(0, blocks[i]);
            NativeMemory.fill(blocks[i], 4096, (byte) 1);
        }
        long fence = (long) MALLOC.invokeExact(64L);
        assertTrue(CHeap.mapped() >= 64L << 20, "the heap holds the 64 MiB: " + CHeap.mapped());
        for (long b : blocks) {
            FREE.invokeExact(b);
        }
        long before = rssAnon();
        CHeap.trim();
        long after = rssAnon();
        FREE.invokeExact(fence);
        assertTrue(before - after >= 32L << 20, "a trim gave back " + (before - after) + " bytes of 64 MiB freed");
    }
}
