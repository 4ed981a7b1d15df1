package org.platformmemory.arena;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.platformmemory.api.Allocator;

/**
 * The {@code arena} backend: a general-purpose allocator over chunks of FFM memory.
 *
 * <p>Small requests (up to 32 KiB) are rounded to one of 40 size classes and served from a per-thread
 * cache, so the common allocate/free touches no lock and no shared atomic; the cache trades blocks with
 * the shared {@link SizeClassBin}s in batches. A block freed by another thread than the one that
 * allocated it simply enters the freeing thread's cache and goes back to its bin with the next batch:
 * blocks carry no owner, so there is nothing to race on. Medium requests are runs of pages; huge ones
 * get an arena of their own (see {@link PageHeap}).
 *
 * <p>Private heaps ({@link #createHeap}) are allocators of the same kind with their own chunks and no
 * thread cache, so their {@link #close} frees every block at once without any cache holding a stale
 * address.
 *
 * <p>Thread-safe. {@link #allocate} returns 0 when memory is out and never throws.
 */
public final class ArenaAllocator implements Allocator {

    private final PageHeap heap;
    private final Settings settings;
    private final ThreadLocal<ThreadCache> caches;
    private final List<ThreadCache> allCaches = new ArrayList<>();
    private final List<ArenaAllocator> heaps = new ArrayList<>();
    private final ArenaAllocator parent;

    /** The validated knobs, see {@link ArenaAllocatorProvider}. */
    record Settings(long chunkSize, int retainChunks, boolean threadCache, int cacheBlocks, long cacheBytes) {
    }

    ArenaAllocator(Settings settings) {
        this(settings, settings.threadCache(), null);
    }

    private ArenaAllocator(Settings settings, boolean threadCache, ArenaAllocator parent) {
        this.settings = settings;
        this.parent = parent;
        this.heap = new PageHeap(settings.chunkSize(), settings.retainChunks());
        this.caches = threadCache ? ThreadLocal.withInitial(this::newCache) : null;
    }

    @Override
    public String name() {
        return ArenaAllocatorProvider.NAME;
    }

    @Override
    public long allocate(long size, long alignment) {
        if (size <= SizeClasses.SMALL_MAX) {
            int c = alignment == MIN_ALIGNMENT ? SizeClasses.classOf(size) : SizeClasses.classOf(size, alignment);
            if (c >= 0) {
                return allocateSmall(c);
            }
        }
        return heap.allocateLarge(size, alignment);
    }

    @Override
    public void free(long address, long size, long alignment) {
        if (size <= SizeClasses.SMALL_MAX) {
            int c = alignment == MIN_ALIGNMENT ? SizeClasses.classOf(size) : SizeClasses.classOf(size, alignment);
            if (c >= 0) {
                freeSmall(address, c);
                return;
            }
        }
        heap.freeLarge(address, size, alignment);
    }

    @Override
    public long reallocate(long address, long oldSize, long newSize, long alignment) {
        if (oldSize <= SizeClasses.SMALL_MAX && newSize <= SizeClasses.SMALL_MAX) {
            int c = SizeClasses.classOf(oldSize, alignment);
            if (c >= 0 && c == SizeClasses.classOf(newSize, alignment)) {
                return address;
            }
        } else if (heap.sameRun(oldSize, newSize, alignment)) {
            return address;
        }
        return Allocator.super.reallocate(address, oldSize, newSize, alignment);
    }

    private long allocateSmall(int c) {
        if (caches == null) {
            return heap.bin(c).take();
        }
        ThreadCache cache = caches.get();
        int n = cache.count[c];
        if (n > 0) {
            cache.count[c] = --n;
            return cache.blocks[cache.start[c] + n];
        }
        return refill(cache, c);
    }

    private void freeSmall(long address, int c) {
        if (caches == null) {
            heap.bin(c).give(address);
            return;
        }
        ThreadCache cache = caches.get();
        int n = cache.count[c];
        if (n == cache.capacity[c]) {
            n = spill(cache, c);
        }
        cache.blocks[cache.start[c] + n] = address;
        cache.count[c] = n + 1;
    }

    // the cache of class c is empty: take half a stack from the bin
    private long refill(ThreadCache cache, int c) {
        if ((++cache.misses & 255) == 0) {
            drainEndedThreads();
        }
        int taken = heap.bin(c).take(cache.blocks, cache.start[c], Math.max(1, cache.capacity[c] >> 1));
        if (taken == 0) {
            return 0;
        }
        cache.count[c] = taken - 1;
        return cache.blocks[cache.start[c] + taken - 1];
    }

    // the cache of class c is full: give the older half back; returns the new count
    private int spill(ThreadCache cache, int c) {
        int n = cache.count[c];
        int half = n >> 1;
        int at = cache.start[c];
        heap.bin(c).give(cache.blocks, at, half);
        System.arraycopy(cache.blocks, at + half, cache.blocks, at, n - half);
        return n - half;
    }

    private ThreadCache newCache() {
        ThreadCache cache = new ThreadCache(Thread.currentThread(), settings.cacheBlocks(), settings.cacheBytes());
        synchronized (allCaches) {
            allCaches.add(cache);
        }
        return cache;
    }

    private void drainEndedThreads() {
        List<ThreadCache> ended = null;
        synchronized (allCaches) {
            for (int i = allCaches.size() - 1; i >= 0; i--) {
                if (!allCaches.get(i).owner.isAlive()) {
                    if (ended == null) {
                        ended = new ArrayList<>();
                    }
                    ended.add(allCaches.remove(i));
                }
            }
        }
        if (ended != null) {
            for (ThreadCache cache : ended) {
                cache.drain(heap);
            }
        }
    }

    /**
     * Gives memory back: the calling thread's cached blocks and those of threads that have ended go
     * back to the shared bins, then every empty slab and every empty chunk is released. Not a hot path.
     */
    public void trim() {
        if (caches != null) {
            caches.get().drain(heap);
            drainEndedThreads();
        }
        heap.trim();
    }

    /**
     * A private heap: its own chunks and arenas, no thread cache. Its {@link #close} releases every
     * block still in it at once. Closing this allocator closes its heaps too.
     *
     * @return the heap; never {@code null}
     */
    @Override
    public Allocator createHeap() {
        ArenaAllocator child = new ArenaAllocator(settings, false, this);
        synchronized (heaps) {
            heaps.add(child);
        }
        return child;
    }

    /**
     * Chunk and heap figures: {@code chunks}, {@code chunkBytes}, {@code emptyChunks}, {@code slabs},
     * {@code hugeBlocks}, {@code hugeBytes}, {@code chunksOpened}, {@code chunksReleased},
     * {@code usedPageBytes}, {@code threadCaches}, {@code heaps}.
     */
    @Override
    public Map<String, Long> statistics() {
        Map<String, Long> figures = new LinkedHashMap<>(heap.statistics());
        synchronized (allCaches) {
            figures.put("threadCaches", (long) allCaches.size());
        }
        synchronized (heaps) {
            figures.put("heaps", (long) heaps.size());
        }
        return figures;
    }

    /** Closes every arena of this allocator (and of its heaps): every block is gone at once. */
    @Override
    public void close() {
        List<ArenaAllocator> children;
        synchronized (heaps) {
            children = new ArrayList<>(heaps);
            heaps.clear();
        }
        for (ArenaAllocator child : children) {
            child.close();
        }
        synchronized (allCaches) {
            allCaches.clear();
        }
        heap.close();
        if (parent != null) {
            synchronized (parent.heaps) {
                parent.heaps.remove(this);
            }
        }
    }
}
