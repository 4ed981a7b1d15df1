package org.platformmemory.arena;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.kit.NativeMemory;
import org.platformmemory.api.kit.SizeClasses;
import org.platformmemory.api.kit.ThreadStacks;

/**
 * The {@code arena} backend: a general-purpose allocator over chunks of FFM memory.
 *
 * <p>Small requests (up to 32 KiB) are rounded to one of 40 size classes and served from a per-thread
 * cache ({@link ThreadStacks}), so the common allocate/free touches no lock and no shared atomic; the
 * cache trades blocks with the shared {@link SizeClassBin}s in batches, and the cache of a thread that
 * ended goes back to the bins when another thread arrives or refills often, or on {@link #trim}. A block freed by another thread than the one that
 * allocated it simply enters the freeing thread's cache and goes back to its bin with the next batch:
 * blocks carry no owner, so there is nothing to race on. Medium requests are runs of pages; huge ones
 * get a mapping of their own (see {@link PageHeap}).
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
    private static final SizeClasses CLASSES = PageHeap.CLASSES;

    // null for a private heap: no thread cache
    private final ThreadStacks caches;
    private final List<ArenaAllocator> heaps = new ArrayList<>();
    private final ArenaAllocator parent;

    /** The validated knobs, see {@link ArenaAllocatorProvider}. */
    record Settings(long chunkSize, int retainChunks, int readyChunks, long retainHuge, boolean threadCache, int cacheBlocks,
                    long cacheBytes) {
    }

    ArenaAllocator(Settings settings) {
        this(settings, settings.threadCache(), null);
    }

    private ArenaAllocator(Settings settings, boolean threadCache, ArenaAllocator parent) {
        this.settings = settings;
        this.parent = parent;
        // chunks made ready ahead by a thread of their own for the allocator, not for each private heap
        this.heap = new PageHeap(settings.chunkSize(), settings.retainChunks(), parent == null ? settings.readyChunks() : 0,
            settings.retainHuge());
        // per class at most cacheBlocks blocks and about cacheBytes bytes, but at least two blocks
        this.caches = threadCache
            ? new ThreadStacks(CLASSES.stackCapacities(2, settings.cacheBlocks(), settings.cacheBytes()), heap) : null;
    }

    @Override
    public String name() {
        return ArenaAllocatorProvider.NAME;
    }

    @Override
    public long allocate(long size, long alignment) {
        int c = CLASSES.classOf(size, alignment);
        if (c >= 0) {
            return allocateSmall(c);
        }
        return heap.allocateLarge(size, alignment);
    }

    /** Small blocks are zeroed; a huge block is a fresh mapping, which reads as zero without a write. */
    @Override
    public long allocateZeroed(long size, long alignment) {
        int c = CLASSES.classOf(size, alignment);
        if (c >= 0) {
            long address = allocateSmall(c);
            if (address != 0) {
                NativeMemory.fill(address, size, (byte) 0);
            }
            return address;
        }
        return heap.allocateLargeZeroed(size, alignment);
    }

    @Override
    public void free(long address, long size, long alignment) {
        int c = CLASSES.classOf(size, alignment);
        if (c >= 0) {
            freeSmall(address, c);
            return;
        }
        heap.freeLarge(address, size, alignment);
    }

    /** Small blocks straight from their class's shared bin, one lock for the batch; the thread cache is the borrower's. */
    @Override
    public int allocateBatch(long size, long[] into, int count) {
        int c = CLASSES.classOf(size, MIN_ALIGNMENT);
        return c >= 0 ? heap.bin(c).take(into, 0, count) : Allocator.super.allocateBatch(size, into, count);
    }

    /** Small blocks straight back to their class's shared bin, one lock for the batch. */
    @Override
    public void freeBatch(long size, long[] from, int count) {
        int c = CLASSES.classOf(size, MIN_ALIGNMENT);
        if (c >= 0) {
            heap.bin(c).give(from, 0, count);
        } else {
            Allocator.super.freeBatch(size, from, count);
        }
    }

    @Override
    public long reallocate(long address, long oldSize, long newSize, long alignment) {
        if (oldSize <= PageHeap.SMALL_MAX && newSize <= PageHeap.SMALL_MAX) {
            int c = CLASSES.classOf(oldSize, alignment);
            if (c >= 0 && c == CLASSES.classOf(newSize, alignment)) {
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
        return caches.current().pop(c);
    }

    private void freeSmall(long address, int c) {
        if (caches == null) {
            heap.bin(c).give(address);
            return;
        }
        caches.current().push(c, address);
    }

    /**
     * Gives memory back: the calling thread's cached blocks and those of threads that have ended go
     * back to the shared bins, then every empty slab and every empty chunk is released. Not a hot path.
     */
    /** Every chunk, huge block and spare this allocator (not its private heaps) has mapped. */
    @Override
    public long mappedBytes() {
        return heap.mappedBytes();
    }

    /** Of {@link #mappedBytes}, what is resident now: a {@code mincore} call per mapping. */
    @Override
    public long residentBytes() {
        return heap.residentBytes();
    }

    @Override
    public void trim() {
        if (caches != null) {
            caches.flushCurrent();
            caches.retireEnded();
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
     * {@code hugeBlocks}, {@code hugeBytes}, {@code spareHugeChunks}, {@code spareHugeBytes}, {@code hugeReused},
     * {@code chunksOpened}, {@code chunksReleased},
     * {@code usedPageBytes}, {@code threadCaches}, {@code heaps}.
     */
    @Override
    public Map<String, Long> statistics() {
        Map<String, Long> figures = new LinkedHashMap<>(heap.statistics());
        figures.put("threadCaches", caches == null ? 0L : caches.threads());
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
        if (caches != null) {
            caches.close();
        }
        heap.close();
        if (parent != null) {
            synchronized (parent.heaps) {
                parent.heaps.remove(this);
            }
        }
    }
}
