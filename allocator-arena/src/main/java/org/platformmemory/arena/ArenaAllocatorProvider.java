package org.platformmemory.arena;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.AllocatorProvider;
import org.platformmemory.api.InvalidConfigException;

/**
 * Provides {@code arena}, the default backend. Its settings:
 * <ul>
 *   <li>{@code allocator.arena.chunkSize}: bytes per chunk, a power of two from 256k to 1g (default 4m);
 *       blocks larger than a chunk get a mapping of their own;</li>
 *   <li>{@code allocator.arena.retainChunks}: empty chunks kept for reuse before one is released,
 *       0 to 1024 (default 2);</li>
 *   <li>{@code allocator.arena.readyChunks}: new chunks a thread of their own keeps mapped and touched
 *       ahead of need, so that the thread whose block needs a new chunk does not take its page faults, at
 *       the price of holding them resident before they are used, 0 to 16 (default 0: a chunk is mapped
 *       when needed, and its pages become resident as its blocks are first written);</li>
 *   <li>{@code allocator.arena.retainHuge}: bytes of huge chunks (blocks larger than a chunk) kept after
 *       their block is freed, for the next huge block they fit, by the allocator and by each private heap,
 *       0 to 1g (default 32m; 0: each is unmapped when its block is freed);</li>
 *   <li>{@code allocator.arena.threadCache}: true or false (default true);</li>
 *   <li>{@code allocator.arena.cacheBlocks}: the most blocks a thread keeps per size class, 2 to 4096
 *       (default 128);</li>
 *   <li>{@code allocator.arena.cacheBytes}: about the most bytes a thread keeps per size class, 1k to 16m
 *       (default 64k).</li>
 * </ul>
 */
public final class ArenaAllocatorProvider implements AllocatorProvider {

    static final String NAME = "arena";
    static final String CHUNK_SIZE = "allocator.arena.chunkSize";
    static final String RETAIN_CHUNKS = "allocator.arena.retainChunks";
    static final String READY_CHUNKS = "allocator.arena.readyChunks";
    static final String RETAIN_HUGE = "allocator.arena.retainHuge";
    static final String THREAD_CACHE = "allocator.arena.threadCache";
    static final String CACHE_BLOCKS = "allocator.arena.cacheBlocks";
    static final String CACHE_BYTES = "allocator.arena.cacheBytes";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "size-classed blocks carved from mapped chunks, with per-thread caches (the default)";
    }

    @Override
    public Allocator create(AllocatorConfig config) {
        return new ArenaAllocator(settings(config));
    }

    static ArenaAllocator.Settings settings(AllocatorConfig config) {
        long chunkSize = config.bytes(CHUNK_SIZE, 4L << 20, 256L << 10, 1L << 30);
        if (Long.bitCount(chunkSize) != 1) {
            throw new InvalidConfigException(CHUNK_SIZE + ": '" + config.raw(CHUNK_SIZE)
                + "' is not allowed; use a power of two from 256k to 1g (for example 4m)");
        }
        int retainChunks = config.integer(RETAIN_CHUNKS, 2, 0, 1024);
        int readyChunks = config.integer(READY_CHUNKS, 0, 0, 16);
        long retainHuge = config.bytes(RETAIN_HUGE, 32L << 20, 0, 1L << 30);
        boolean threadCache = config.bool(THREAD_CACHE, true);
        int cacheBlocks = config.integer(CACHE_BLOCKS, 128, 2, 4096);
        long cacheBytes = config.bytes(CACHE_BYTES, 64L << 10, 1L << 10, 16L << 20);
        return new ArenaAllocator.Settings(chunkSize, retainChunks, readyChunks, retainHuge, threadCache, cacheBlocks,
            cacheBytes);
    }
}
