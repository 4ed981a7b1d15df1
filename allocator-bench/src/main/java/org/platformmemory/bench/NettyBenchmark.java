package org.platformmemory.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.Backends;

/**
 * What the SPI costs over Netty: the {@code netty} backend (with and without its per-thread buffer cache)
 * against raw Netty ({@code directBuffer} + {@code release} on a pool with the same settings) and against
 * {@code system} (libc malloc), for a 64-byte allocate+free pair and a mixed size distribution.
 *
 * <p>The mixed workload keeps a window of 64 live blocks per implementation: each operation frees the
 * oldest block and allocates the next size from a fixed sequence (70% 1-256 B, 25% 257 B-64 KiB,
 * 5% 64 KiB-1 MiB, as the contract stress test). Scores are per operation (one free plus one allocate).
 *
 * <pre>
 * java -jar allocator-bench/target/benchmarks.jar NettyBenchmark -f 1 -wi 3 -w 1s -i 5 -r 1s
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1) // the flags of config/jvm.options come from BenchMain
public class NettyBenchmark {

    private static final int WINDOW = 64;
    private static final int SIZES = 1 << 12;
    private static final long ALIGN = Allocator.MIN_ALIGNMENT;

    private Allocator netty;
    private Allocator nettyUncached;
    private Allocator system;
    private PooledByteBufAllocator raw;

    private final long[] sizes = new long[SIZES];
    private int next;
    private final long[] nettyLive = new long[WINDOW];
    private final long[] nettyLiveSize = new long[WINDOW];
    private final long[] uncachedLive = new long[WINDOW];
    private final long[] uncachedLiveSize = new long[WINDOW];
    private final long[] systemLive = new long[WINDOW];
    private final long[] systemLiveSize = new long[WINDOW];
    private final ByteBuf[] rawLive = new ByteBuf[WINDOW];

    @Setup(Level.Trial)
    public void open() {
        netty = Backends.create(AllocatorConfig.parse("allocator.backend=netty"));
        nettyUncached = Backends.create(AllocatorConfig.parse("allocator.backend=netty;allocator.netty.blockCacheSize=0"));
        system = Backends.create(AllocatorConfig.parse("allocator.backend=system"));
        // the same Netty settings as the backend's defaults, but a pool of its own
        raw = new PooledByteBufAllocator(true, 0, Runtime.getRuntime().availableProcessors(), 8192, 9, 0, 256, 64,
            true, 0);
        SplittableRandom random = new SplittableRandom(2024);
        for (int i = 0; i < SIZES; i++) {
            int kind = random.nextInt(100);
            sizes[i] = kind < 70 ? random.nextLong(1, 257)
                : kind < 95 ? random.nextLong(257, 65_537) : random.nextLong(65_537, (1 << 20) + 1);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        for (int i = 0; i < WINDOW; i++) {
            if (nettyLive[i] != 0) {
                netty.free(nettyLive[i], nettyLiveSize[i], ALIGN);
            }
            if (uncachedLive[i] != 0) {
                nettyUncached.free(uncachedLive[i], uncachedLiveSize[i], ALIGN);
            }
            if (systemLive[i] != 0) {
                system.free(systemLive[i], systemLiveSize[i], ALIGN);
            }
            if (rawLive[i] != null) {
                rawLive[i].release();
            }
        }
        netty.close();
        nettyUncached.close();
        system.close();
    }

    // ---- 64-byte allocate + free

    @Benchmark
    public long pair64NettyBackend() {
        long p = netty.allocate(64, ALIGN);
        netty.free(p, 64, ALIGN);
        return p;
    }

    @Benchmark
    public long pair64NettyBackendUncached() {
        long p = nettyUncached.allocate(64, ALIGN);
        nettyUncached.free(p, 64, ALIGN);
        return p;
    }

    @Benchmark
    public long pair64RawNetty() {
        ByteBuf b = raw.directBuffer(64, 64);
        long p = b.memoryAddress();
        b.release();
        return p;
    }

    @Benchmark
    public long pair64System() {
        long p = system.allocate(64, ALIGN);
        system.free(p, 64, ALIGN);
        return p;
    }

    // ---- mixed sizes, 64 live blocks

    private int step() {
        return next++ & (SIZES - 1);
    }

    @Benchmark
    public long mixedNettyBackend() {
        return mixed(netty, nettyLive, nettyLiveSize);
    }

    @Benchmark
    public long mixedNettyBackendUncached() {
        return mixed(nettyUncached, uncachedLive, uncachedLiveSize);
    }

    @Benchmark
    public long mixedSystem() {
        return mixed(system, systemLive, systemLiveSize);
    }

    @Benchmark
    public long mixedRawNetty() {
        int i = step();
        int w = i & (WINDOW - 1);
        if (rawLive[w] != null) {
            rawLive[w].release();
        }
        int size = (int) sizes[i];
        ByteBuf b = raw.directBuffer(size, size);
        rawLive[w] = b;
        return b.memoryAddress();
    }

    private long mixed(Allocator allocator, long[] live, long[] liveSize) {
        int i = step();
        int w = i & (WINDOW - 1);
        if (live[w] != 0) {
            allocator.free(live[w], liveSize[w], ALIGN);
        }
        long size = sizes[i];
        long p = allocator.allocate(size, ALIGN);
        live[w] = p;
        liveSize[w] = size;
        return p;
    }
}
