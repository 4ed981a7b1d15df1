package org.platformmemory.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.TrackedAllocator;

/**
 * The slab backend against the others, through the facade in counters mode: a 64-byte allocate/free
 * pair and a mixed distribution of sizes, as mean time and as the spread of per-call latency
 * ({@code -bm sample} gives p99/p99.9). Add backends with {@code -p backend=system,arena,agrona}.
 *
 * <pre>
 * java -jar allocator-bench/target/benchmarks.jar AgronaBenchmark -f 1 -wi 3 -w 1s -i 5 -r 1s -bm sample
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1) // the flags of config/jvm.options come from BenchMain
public class AgronaBenchmark {

    private static final int RING = 1024;

    @Param({"system", "arena", "agrona"})
    public String backend;

    /** Extra settings, such as {@code allocator.agrona.magazineSize=16}; empty for the defaults. */
    @Param({""})
    public String options;

    private TrackedAllocator memory;
    private final long[] ring = new long[RING];
    private final long[] sizes = new long[RING * 4];
    private int next;

    @Setup(Level.Trial)
    public void open() {
        memory = TrackedAllocator.open(AllocatorConfig.parse("allocator.backend=" + backend
            + (options.isEmpty() ? "" : ";" + options)));
        // a game-like mix: most blocks small, some mid-size, a few buffers above the largest class
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < sizes.length; i++) {
            int kind = random.nextInt(100);
            sizes[i] = kind < 80 ? random.nextLong(8, 257) : kind < 98 ? random.nextLong(257, 8193)
                : random.nextLong(8193, 131_073);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        for (int i = 0; i < RING; i++) {
            memory.free(ring[i], 0);
            ring[i] = 0;
        }
        memory.close();
    }

    /** One 64-byte block allocated and freed: the common small-object case. */
    @Benchmark
    public long pair64() {
        long p = memory.allocate(64, MemoryFlags.NORMAL);
        memory.free(p, 64);
        return p;
    }

    /** Replaces one block of a ring of 1024 live ones with a block of a random size: one free and one allocate. */
    @Benchmark
    public long mixed() {
        int slot = next & (RING - 1);
        long size = sizes[next & (sizes.length - 1)];
        next++;
        memory.free(ring[slot], 0);
        long p = memory.allocate(size, MemoryFlags.NORMAL);
        ring[slot] = p;
        return p;
    }
}
