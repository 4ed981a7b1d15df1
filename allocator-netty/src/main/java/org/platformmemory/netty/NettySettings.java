package org.platformmemory.netty;

import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.InvalidConfigException;

/**
 * The {@code allocator.netty.*} knobs, validated once, each mapped onto one of Netty's own
 * {@code PooledByteBufAllocator} settings.
 *
 * <table>
 *   <caption>Knobs</caption>
 *   <tr><th>key</th><th>default</th><th>Netty setting</th></tr>
 *   <tr><td>{@code allocator.netty.arenas}</td><td>number of cores, 1 to 64</td><td>{@code nDirectArena}</td></tr>
 *   <tr><td>{@code allocator.netty.pageSize}</td><td>8k (4k to 1m, a power of two)</td><td>{@code pageSize}</td></tr>
 *   <tr><td>{@code allocator.netty.maxOrder}</td><td>9 (0 to 14)</td><td>{@code maxOrder}: a chunk is
 *       {@code pageSize << maxOrder}, at most 1 GiB; larger blocks are not pooled</td></tr>
 *   <tr><td>{@code allocator.netty.smallCacheSize}</td><td>256</td><td>{@code smallCacheSize}</td></tr>
 *   <tr><td>{@code allocator.netty.normalCacheSize}</td><td>64</td><td>{@code normalCacheSize}</td></tr>
 *   <tr><td>{@code allocator.netty.threadCaches}</td><td>false</td><td>{@code useCacheForAllThreads}: Netty
 *       frees the cache of a thread that is not its own only once the GC collects the ended thread, and in a
 *       C host threads come and go while the Java heap stays idle: the caches piled up (about 70 KiB of
 *       resident memory per ended thread, without bound). This backend's own block cache below, which gives
 *       an ended thread's buffers back without waiting for a GC, serves repeated sizes instead</td></tr>
 *   <tr><td>{@code allocator.netty.blockCacheSize}</td><td>16 (0 to 1024)</td><td>none: freed buffers this
 *       backend keeps per thread and size class (up to 32 KiB) so that the common path does not allocate
 *       on the Java heap; 0 sends every block to Netty and back</td></tr>
 * </table>
 *
 * @param arenas          direct arenas
 * @param pageSize        bytes per page
 * @param maxOrder        pages per chunk, as a power of two
 * @param smallCacheSize  cached small buffers per size class and thread
 * @param normalCacheSize cached normal buffers per size class and thread
 * @param threadCaches    whether every thread (not only Netty's own) gets a thread cache
 * @param blockCacheSize  freed buffers kept per thread and size class in front of Netty
 */
public record NettySettings(int arenas, int pageSize, int maxOrder, int smallCacheSize, int normalCacheSize,
                            boolean threadCaches, int blockCacheSize) {

    /** The prefix of every key read here. */
    public static final String PREFIX = "allocator.netty.";
    public static final String ARENAS = PREFIX + "arenas";
    public static final String PAGE_SIZE = PREFIX + "pageSize";
    public static final String MAX_ORDER = PREFIX + "maxOrder";
    public static final String SMALL_CACHE_SIZE = PREFIX + "smallCacheSize";
    public static final String NORMAL_CACHE_SIZE = PREFIX + "normalCacheSize";
    public static final String THREAD_CACHES = PREFIX + "threadCaches";
    public static final String BLOCK_CACHE_SIZE = PREFIX + "blockCacheSize";

    /** Netty refuses chunks above 1 GiB. */
    static final long MAX_CHUNK_SIZE = 1L << 30;

    public NettySettings {
        if (arenas < 1 || pageSize < 4096 || Integer.bitCount(pageSize) != 1 || maxOrder < 0 || maxOrder > 14
            || ((long) pageSize << maxOrder) > MAX_CHUNK_SIZE || smallCacheSize < 0 || normalCacheSize < 0
            || blockCacheSize < 0) {
            throw new InvalidConfigException("netty settings out of range: " + this);
        }
    }

    /**
     * Reads and validates every {@code allocator.netty.*} key.
     *
     * @throws InvalidConfigException naming the key, the value and what is allowed
     */
    public static NettySettings from(AllocatorConfig config) {
        int cores = Runtime.getRuntime().availableProcessors();
        int arenas = config.integer(ARENAS, Math.min(64, cores), 1, 64);
        long pageSize = config.bytes(PAGE_SIZE, 8192, 4096, 1 << 20);
        if (Long.bitCount(pageSize) != 1) {
            throw new InvalidConfigException(PAGE_SIZE + ": '" + config.raw(PAGE_SIZE)
                + "' is not allowed; use a power of two from 4k to 1m (for example 8k)");
        }
        int maxOrder = config.integer(MAX_ORDER, 9, 0, 14);
        if (pageSize << maxOrder > MAX_CHUNK_SIZE) {
            throw new InvalidConfigException(MAX_ORDER + ": '" + maxOrder + "' is not allowed with "
                + PAGE_SIZE + "=" + pageSize + ": a chunk (pageSize << maxOrder) may be at most 1g, so use at most "
                + (Long.numberOfTrailingZeros(MAX_CHUNK_SIZE) - Long.numberOfTrailingZeros(pageSize)));
        }
        int small = config.integer(SMALL_CACHE_SIZE, 256, 0, 1 << 16);
        int normal = config.integer(NORMAL_CACHE_SIZE, 64, 0, 1 << 16);
        boolean threadCaches = config.bool(THREAD_CACHES, false);
        int blockCache = config.integer(BLOCK_CACHE_SIZE, 16, 0, 1024);
        return new NettySettings(arenas, (int) pageSize, maxOrder, small, normal, threadCaches, blockCache);
    }

    /** The bytes of one pooled chunk: blocks larger than this are allocated and freed one by one. */
    public int chunkSize() {
        return pageSize << maxOrder;
    }
}
