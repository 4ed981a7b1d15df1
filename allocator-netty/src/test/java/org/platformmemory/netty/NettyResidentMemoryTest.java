package org.platformmemory.netty;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.platformmemory.api.AllocatorConfig;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Resident memory (VmRSS) comes back after a working set is freed: 256 MiB of mixed blocks, every page
 * touched, then every block freed in random order. Run with 512 KiB chunks (maxOrder=6), where Netty
 * frees the chunks that empty out; with the default 4 MiB chunks Netty keeps more of them (docs/memory.md,
 * "netty and resident memory"). Bounded by the work, a few seconds.
 */
class NettyResidentMemoryTest {

    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private static final long WORKING_SET = 256L << 20;

    private final NettyAllocator allocator = new NettyAllocator(NettySettings.from(AllocatorConfig.of(
        Map.of(NettySettings.MAX_ORDER, "6"))));

    @AfterEach
    void close() {
        allocator.close();
    }

    private static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new AssertionError("no VmRSS in /proc/self/status");
    }

    private static long mib(long bytes) {
        return bytes >> 20;
    }

    @Test
    void shouldGiveResidentMemoryBackAfterAWorkingSetIsFreed() throws IOException, InterruptedException {
        SplittableRandom random = new SplittableRandom(12);
        long[] blocks = new long[200_000];
        long[] sizes = new long[blocks.length];
        System.gc();
        long before = residentBytes();
        int count = 0;
        for (long total = 0; total < WORKING_SET; count++) {
            int kind = random.nextInt(100);
            long size = kind < 70 ? random.nextLong(16, 513) : kind < 95 ? random.nextLong(513, 32_769)
                : random.nextLong(32_769, 512 << 10);
            long block = allocator.allocate(size, 16);
            assertNotEquals(0, block);
            EVERYTHING.asSlice(block, size).fill((byte) 1); // resident, every page of it
            blocks[count] = block;
            sizes[count] = size;
            total += size;
        }
        long full = residentBytes();
        long grown = full - before;
        assertTrue(grown > WORKING_SET / 2, "the working set made the process resident: " + mib(grown) + " MiB");

        for (int i = count - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long block = blocks[i];
            blocks[i] = blocks[j];
            blocks[j] = block;
            long size = sizes[i];
            sizes[i] = sizes[j];
            sizes[j] = size;
        }
        for (int i = 0; i < count; i++) {
            allocator.free(blocks[i], sizes[i], 16);
        }
        // the automatic trim runs in the background: wait for it to finish (bounded)
        for (int waited = 0; waited < 1000 && ResidentMemory.pending(); waited++) {
            Thread.sleep(10);
        }
        long freed = residentBytes();
        Map<String, Long> stats = allocator.statistics();
        String figures = "resident " + mib(before) + " MiB before, " + mib(full) + " MiB with the working set, "
            + mib(freed) + " MiB after freeing it; " + stats.get("trims") + " trims, " + stats.get("chunks")
            + " chunks left";
        assertTrue(stats.get("trims") >= 1, "the frees triggered a trim: " + figures);
        if (ResidentMemory.available()) {
            assertTrue(freed - before < grown * 3 / 4, "at least a quarter came back by itself: " + figures);
        }

        allocator.trim(); // what is left since the last automatic trim, and the buffers cached since
        long trimmed = residentBytes();
        figures += ", " + mib(trimmed) + " MiB after trim()";
        if (ResidentMemory.available()) {
            assertTrue(trimmed - before < grown / 4, "three quarters came back after trim(): " + figures);
        }
        System.out.println(figures);
    }
}
