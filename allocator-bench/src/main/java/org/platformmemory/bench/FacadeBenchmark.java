package org.platformmemory.bench;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.TrackedAllocator;

/**
 * What the tracked facade costs over the bare backend: one 64-byte allocate+free pair per operation,
 * through the SPI directly ({@code bare}) and through the facade in each tracking mode. Run with
 * {@code -prof gc} to see that {@code counters} allocates nothing on the Java heap.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(3) // the flags of config/jvm.options come from BenchMain
public class FacadeBenchmark {

    @Param({"system", "arena", "netty", "agrona"})
    public String backend;

    @Param({"64"})
    public long size;

    private Allocator bare;
    private TrackedAllocator counters;
    private TrackedAllocator leaks;
    private TrackedAllocator debug;

    @Setup(Level.Trial)
    public void open() {
        bare = Backends.create(AllocatorConfig.parse("backend=" + backend));
        counters = TrackedAllocator.open(AllocatorConfig.parse("backend=" + backend + ";tracking=counters"));
        leaks = TrackedAllocator.open(AllocatorConfig.parse("backend=" + backend + ";tracking=leaks"));
        debug = TrackedAllocator.open(AllocatorConfig.parse("backend=" + backend + ";tracking=debug"));
    }

    @TearDown(Level.Trial)
    public void close() {
        bare.close();
        counters.close();
        leaks.close();
        debug.close();
    }

    /** The backend alone, asked for what the facade would ask (size + its 16-byte header). */
    @Benchmark
    public long bare() {
        long p = bare.allocate(size + 16, Allocator.MIN_ALIGNMENT);
        bare.free(p, size + 16, Allocator.MIN_ALIGNMENT);
        return p;
    }

    @Benchmark
    public long facadeCounters() {
        long p = counters.allocate(size, 0);
        counters.free(p, 0);
        return p;
    }

    @Benchmark
    public long facadeLeaks() {
        long p = leaks.allocate(size, 0);
        leaks.free(p, 0);
        return p;
    }

    @Benchmark
    public long facadeDebug() {
        long p = debug.allocate(size, 0);
        debug.free(p, 0);
        return p;
    }
}
