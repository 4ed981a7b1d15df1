package org.platformmemory.netty;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import io.netty.buffer.PooledByteBufAllocator;

/**
 * The Netty pools behind this module's backends: one private {@link PooledByteBufAllocator} per distinct
 * set of Netty settings, never {@code PooledByteBufAllocator.DEFAULT}, so the game's memory shares no pool
 * with any other Netty user in the JVM. A backend created after another was closed reuses its pool.
 *
 * <p>Why pools outlive backends: Netty cannot destroy a pool. Its chunks go back to the system only when
 * the pool becomes unreachable and finalizers run ({@code PoolArena.finalize}), which may be never if
 * the Java heap is quiet, because the memory is off-heap; a test run or a game that restarts the layer
 * would strand a pool per start. Worse, a plain thread's cache is freed by another finalizer, and if both
 * run on the same collection in the wrong order a chunk is freed twice (a crash in {@code free} seen in this
 * project's stress test before pools were kept). Keeping each pool for the life of the JVM removes both.
 */
final class NettyPools {

    private static final ConcurrentMap<Key, PooledByteBufAllocator> POOLS = new ConcurrentHashMap<>();

    private NettyPools() {
    }

    /** The pool for {@code settings}, created on first use. */
    static PooledByteBufAllocator of(NettySettings settings) {
        Key key = new Key(settings.arenas(), settings.pageSize(), settings.maxOrder(), settings.smallCacheSize(),
            settings.normalCacheSize(), settings.threadCaches());
        return POOLS.computeIfAbsent(key, NettyPools::create);
    }

    /** Pools created so far. */
    static int count() {
        return POOLS.size();
    }

    private static PooledByteBufAllocator create(Key key) {
        // preferDirect, no heap arenas; alignment 0: directMemoryCacheAlignment would need sun.misc.Unsafe
        return new PooledByteBufAllocator(true, 0, key.arenas(), key.pageSize(), key.maxOrder(), 0,
            key.smallCacheSize(), key.normalCacheSize(), key.threadCaches(), 0);
    }

    private record Key(int arenas, int pageSize, int maxOrder, int smallCacheSize, int normalCacheSize,
                       boolean threadCaches) {
    }
}
