package org.platformmemory.bench;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.TrackedAllocator;

/**
 * Memory overhead of a game-like workload: the process's peak resident memory (VmHWM) over the peak of
 * live bytes the facade counted. Each backend runs in a fresh JVM of its own, one after the other, so
 * the peaks do not mix; the JVM's own resident memory before the workload is reported beside it.
 *
 * <p>The workload: a persistent world that grows to about {@code liveMiB} of objects (mostly small,
 * some strings and arrays, a few large buffers), then frames that each replace 2% of it and make and
 * drop their own temporaries. Every block is written in full, so every page counts.
 *
 * <pre>
 * java @config/jvm.options -cp allocator-bench/target/benchmarks.jar \
 *     org.platformmemory.bench.ArenaFootprint [liveMiB] [backend...]
 * </pre>
 */
public final class ArenaFootprint {

    private ArenaFootprint() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("--child")) {
            run(args[1], Long.parseLong(args[2]), args.length > 3 ? args[3] : "");
            return;
        }
        long liveMiB = args.length > 0 ? Long.parseLong(args[0]) : 512;
        List<String> backends = args.length > 1 ? List.of(args).subList(1, args.length) : List.of("system", "arena");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (String backend : backends) {
            String[] parts = backend.split(":", 2); // backend:key=value;key=value
            List<String> command = new ArrayList<>(List.of(java));
            command.addAll(JvmOptions.read()); // config/jvm.options
            command.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"),
                ArenaFootprint.class.getName(), "--child", parts[0], Long.toString(liveMiB),
                parts.length > 1 ? parts[1] : ""));
            Process child = new ProcessBuilder(command).inheritIO().start();
            if (child.waitFor() != 0) {
                throw new IllegalStateException(backend + " exited with " + child.exitValue());
            }
        }
    }

    private static void run(String backend, long liveMiB, String options) throws IOException {
        long baseline = status("VmRSS");
        AllocatorConfig config = AllocatorConfig.parse("allocator.backend=" + backend + ";" + options);
        SplittableRandom random = new SplittableRandom(7);
        long target = liveMiB << 20;
        try (TrackedAllocator memory = TrackedAllocator.open(config)) {
            int capacity = 1_000_000;
            long[] blocks = new long[capacity];
            long[] sizes = new long[capacity];
            int count = 0;
            while (memory.liveBytes() < target && count < capacity) {
                long size = ArenaBenchmark.gameSize(random);
                blocks[count] = allocate(memory, size);
                sizes[count++] = size;
            }
            if (System.getenv("FOOTPRINT_VERBOSE") != null) {
                System.out.println("after build-up: live " + memory.liveBytes() + " RSS " + status("VmRSS") + " " + memory.backendStatistics());
            }
            long[] temporaries = new long[4096];
            long[] temporarySizes = new long[4096];
            long started = System.nanoTime();
            for (int frame = 0; frame < 300; frame++) {
                for (int i = 0; i < count / 50; i++) {
                    int victim = random.nextInt(count);
                    memory.free(blocks[victim], sizes[victim]);
                    long size = ArenaBenchmark.gameSize(random);
                    blocks[victim] = allocate(memory, size);
                    sizes[victim] = size;
                }
                int made = 0;
                for (; made < temporaries.length; made++) {
                    long size = made % 512 == 0 ? 256 * 1024 : 16 + random.nextInt(1024);
                    temporaries[made] = memory.allocate(size, MemoryFlags.TEMP);
                    touch(temporaries[made], size);
                    temporarySizes[made] = size;
                }
                for (int i = 0; i < made; i++) {
                    memory.free(temporaries[i], temporarySizes[i]);
                }
            }
            long millis = (System.nanoTime() - started) / 1_000_000;
            long peakLive = memory.peakBytes();
            long hwm = status("VmHWM");
            System.out.printf("%-8s %-28s peak live %7.1f MiB  peak RSS %7.1f MiB  JVM before %5.1f MiB"
                    + "  RSS/live %.3f  (RSS-JVM)/live %.3f  frames %d ms  backend %s%n",
                backend, options.isEmpty() ? "(defaults)" : options, peakLive / 1048576.0, hwm / 1048576.0,
                baseline / 1048576.0, (double) hwm / peakLive, (double) (hwm - baseline) / peakLive, millis,
                memory.backendStatistics());
            for (int i = 0; i < count; i++) {
                memory.free(blocks[i], sizes[i]);
            }
            if (memory.liveBytes() != 0) {
                throw new IllegalStateException("live bytes left: " + memory.liveBytes());
            }
        }
    }

    private static long allocate(TrackedAllocator memory, long size) {
        long p = memory.allocate(size, MemoryFlags.NORMAL);
        if (p == 0) {
            throw new IllegalStateException("allocate(" + size + ") failed");
        }
        touch(p, size);
        return p;
    }

    private static void touch(long address, long size) {
        MemorySegment.ofAddress(address).reinterpret(size).fill((byte) 0x5A);
    }

    /** A field of /proc/self/status in bytes (the kernel writes kB). */
    private static long status(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").strip()) * 1024;
            }
        }
        throw new IllegalStateException(field + " is not in /proc/self/status");
    }
}
