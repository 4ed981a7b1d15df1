package org.platformmemory.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;
import org.platformmemory.api.MemoryFlags;
import org.platformmemory.api.TrackedAllocator;

/**
 * The {@code arena} backend side by side with {@code system} (libc malloc through FFM) in one run:
 * a 64-byte allocate+free pair (bare backend and through the facade), a game-like mixed size
 * distribution, and blocks allocated on one thread and freed on another.
 *
 * <pre>
 * java -jar allocator-bench/target/benchmarks.jar ArenaBenchmark -f 1 -wi 3 -w 1s -i 5 -r 1s
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g") // the flags of config/jvm.options come from BenchMain
public class ArenaBenchmark {

    /** One backend, created bare, and the facade over another instance of it. */
    @State(Scope.Benchmark)
    public static class Backend {
        @Param({"system", "arena"})
        String backend;

        Allocator allocator;
        TrackedAllocator facade;
        final long[] frame = new long[8];

        @Setup(Level.Trial)
        public void open() {
            // parse() layers -Dallocator.* system properties underneath, so knobs can be tried with -jvmArgsAppend
            allocator = Backends.create(AllocatorConfig.parse(AllocatorConfig.BACKEND + "=" + backend));
            facade = TrackedAllocator.open(AllocatorConfig.parse(AllocatorConfig.BACKEND + "=" + backend));
        }

        @TearDown(Level.Trial)
        public void close() {
            allocator.close();
            facade.close();
        }
    }

    /** A ring of live blocks with game-like sizes: each call frees the oldest and allocates anew. */
    @State(Scope.Thread)
    public static class Mix {
        static final int LIVE = 4096;
        static final int SIZES = 1 << 16;
        final long[] sizes = new long[SIZES];
        final long[] blocks = new long[LIVE];
        final long[] blockSizes = new long[LIVE];
        int next;
        int slot;
        Allocator allocator;

        @Setup(Level.Trial)
        public void fill(Backend backend) {
            SplittableRandom random = new SplittableRandom(42);
            for (int i = 0; i < SIZES; i++) {
                sizes[i] = gameSize(random);
            }
            allocator = backend.allocator;
        }

        @TearDown(Level.Trial)
        public void drain() {
            for (int i = 0; i < LIVE; i++) {
                if (blocks[i] != 0) {
                    allocator.free(blocks[i], blockSizes[i], Allocator.MIN_ALIGNMENT);
                    blocks[i] = 0;
                }
            }
        }
    }

    /**
     * A size from a game-frame mix: mostly small objects, some strings and arrays, few large buffers.
     * 70% 16-256 B, 24% 256 B-4 KiB, 5% 4-64 KiB, 1% 64 KiB-1 MiB.
     */
    static long gameSize(SplittableRandom random) {
        int bucket = random.nextInt(100);
        if (bucket < 70) {
            return 16 + random.nextInt(241);
        } else if (bucket < 94) {
            return 256 + random.nextInt(4096 - 256);
        } else if (bucket < 99) {
            return 4096 + random.nextInt(60 * 1024);
        }
        return 64 * 1024 + random.nextInt(960 * 1024);
    }

    @Benchmark
    public long pair64(Backend b) {
        long p = b.allocator.allocate(64, Allocator.MIN_ALIGNMENT);
        b.allocator.free(p, 64, Allocator.MIN_ALIGNMENT);
        return p;
    }

    @Benchmark
    public long pair64Facade(Backend b) {
        long p = b.facade.allocate(64, MemoryFlags.NORMAL);
        b.facade.free(p, 0);
        return p;
    }

    @Benchmark
    public long mixed(Mix m) {
        int slot = m.slot;
        m.slot = (slot + 1) & (Mix.LIVE - 1);
        if (m.blocks[slot] != 0) {
            m.allocator.free(m.blocks[slot], m.blockSizes[slot], Allocator.MIN_ALIGNMENT);
        }
        long size = m.sizes[m.next];
        m.next = (m.next + 1) & (Mix.SIZES - 1);
        long p = m.allocator.allocate(size, Allocator.MIN_ALIGNMENT);
        m.blocks[slot] = p;
        m.blockSizes[slot] = size;
        return p;
    }

    /**
     * A frame's large buffers: eight 1 MiB blocks (two default chunks) allocated, then all freed, so
     * every frame empties its chunks; {@code allocator.arena.retainChunks} decides whether they go.
     */
    @Benchmark
    public long frameOfLargeBuffers(Backend b) {
        long[] held = b.frame;
        for (int i = 0; i < held.length; i++) {
            held[i] = b.allocator.allocate(1 << 20, Allocator.MIN_ALIGNMENT);
        }
        long first = held[0];
        for (int i = 0; i < held.length; i++) {
            b.allocator.free(held[i], 1 << 20, Allocator.MIN_ALIGNMENT);
        }
        return first;
    }

    /** A single-producer single-consumer ring of addresses, 0 meaning an empty slot. */
    @State(Scope.Group)
    public static class Handoff {
        static final int SLOTS = 1024;
        static final int SPINS = 100_000;
        final AtomicLongArray ring = new AtomicLongArray(SLOTS);
        long produced; // producer's index, only it touches it
        long consumed; // consumer's index, only it touches it
        Allocator allocator;

        @Setup(Level.Trial)
        public void open(Backend backend) {
            allocator = backend.allocator;
        }

        @TearDown(Level.Trial)
        public void drain() {
            for (int i = 0; i < SLOTS; i++) {
                long p = ring.getAndSet(i, 0);
                if (p != 0) {
                    allocator.free(p, 64, Allocator.MIN_ALIGNMENT);
                }
            }
        }
    }

    /**
     * Allocates 64 bytes and hands the block to the other thread, waiting (boundedly) for room in the
     * ring; only if the consumer has stopped does it free the block itself.
     */
    @Benchmark
    @Group("crossThread")
    public long crossThreadAllocate(Handoff h) {
        long p = h.allocator.allocate(64, Allocator.MIN_ALIGNMENT);
        int i = (int) (h.produced & (Handoff.SLOTS - 1));
        for (int spin = 0; spin < Handoff.SPINS; spin++) {
            if (h.ring.get(i) == 0) {
                h.ring.lazySet(i, p);
                h.produced++;
                return p;
            }
            pause(spin);
        }
        h.allocator.free(p, 64, Allocator.MIN_ALIGNMENT);
        return p;
    }

    /** Frees the next block the other thread handed over, waiting (boundedly) for one to arrive. */
    @Benchmark
    @Group("crossThread")
    public long crossThreadFree(Handoff h) {
        int i = (int) (h.consumed & (Handoff.SLOTS - 1));
        for (int spin = 0; spin < Handoff.SPINS; spin++) {
            long p = h.ring.get(i);
            if (p != 0) {
                h.ring.lazySet(i, 0);
                h.consumed++;
                h.allocator.free(p, 64, Allocator.MIN_ALIGNMENT);
                return p;
            }
            pause(spin);
        }
        return 0;
    }

    // spin briefly, then give the core away: on a busy machine the other side may not be running
    private static void pause(int spin) {
        if (spin < 64) {
            Thread.onSpinWait();
        } else {
            Thread.yield();
        }
    }
}
