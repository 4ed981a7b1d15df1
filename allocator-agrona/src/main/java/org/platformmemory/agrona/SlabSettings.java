package org.platformmemory.agrona;

import java.util.concurrent.TimeUnit;

import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.InvalidConfigException;
import org.platformmemory.api.kit.SizeClasses;

/**
 * The {@code allocator.agrona.*} settings, read once and validated; every message names the key, the
 * value and what is allowed.
 *
 * <table>
 *   <caption>Settings</caption>
 *   <tr><th>key</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>{@code allocator.agrona.maxClass}</td><td>32k</td><td>largest slot size; larger blocks get a
 *       buffer of their own. A multiple of 16, 16 bytes to 1m</td></tr>
 *   <tr><td>{@code allocator.agrona.classesPerDoubling}</td><td>4</td><td>size classes per power of two
 *       (1 to 16): more classes waste less to rounding and spread blocks over more slabs</td></tr>
 *   <tr><td>{@code allocator.agrona.slabSize}</td><td>256k</td><td>bytes per slab: a power of two from
 *       8 times {@code maxClass} (and at least 4k) to 16m</td></tr>
 *   <tr><td>{@code allocator.agrona.maxSlabsPerClass}</td><td>65536</td><td>a class never has more slabs;
 *       an allocation that needs one more fails</td></tr>
 *   <tr><td>{@code allocator.agrona.reclaim}</td><td>delayed</td><td>{@code delayed}: empty slabs go back
 *       after the delay, beyond the ones kept; {@code never}: empty slabs are kept until close</td></tr>
 *   <tr><td>{@code allocator.agrona.reclaimDelayMs}</td><td>1000</td><td>how long a slab stays empty before
 *       it may go (0 to 86400000)</td></tr>
 *   <tr><td>{@code allocator.agrona.emptySlabsKept}</td><td>1</td><td>empty slabs each class keeps however
 *       long they have been empty (0 to 65536)</td></tr>
 *   <tr><td>{@code allocator.agrona.magazineSize}</td><td>256</td><td>free slots each thread caches per
 *       class (0 to 4096; at most about 64k bytes per class): allocate and free then touch no shared
 *       atomic. 0 disables the magazines, every call goes to the slabs</td></tr>
 * </table>
 */
final class SlabSettings {

    static final String PREFIX = "allocator.agrona.";
    static final String MAX_CLASS = PREFIX + "maxClass";
    static final String CLASSES_PER_DOUBLING = PREFIX + "classesPerDoubling";
    static final String SLAB_SIZE = PREFIX + "slabSize";
    static final String MAX_SLABS_PER_CLASS = PREFIX + "maxSlabsPerClass";
    static final String RECLAIM = PREFIX + "reclaim";
    static final String RECLAIM_DELAY_MS = PREFIX + "reclaimDelayMs";
    static final String EMPTY_SLABS_KEPT = PREFIX + "emptySlabsKept";
    static final String MAGAZINE_SIZE = PREFIX + "magazineSize";

    /** When empty slabs are given back. */
    enum Reclaim {
        /** After {@code reclaimDelayMs}, beyond {@code emptySlabsKept} per class. */
        DELAYED,
        /** Only at close. */
        NEVER
    }

    private static final int MIN_SLOTS_PER_SLAB = 8;

    private final int maxClass;
    private final int classesPerDoubling;
    private final int slabSize;
    private final int maxSlabsPerClass;
    private final Reclaim reclaim;
    private final long reclaimDelayNanos;
    private final int emptySlabsKept;
    private final int magazineSize;
    private final long limit;

    private SlabSettings(AllocatorConfig config) {
        long largest = config.bytes(MAX_CLASS, 32 << 10, SizeClasses.QUANTUM, 1 << 20);
        if (largest % SizeClasses.QUANTUM != 0) {
            throw new InvalidConfigException(MAX_CLASS + ": '" + config.raw(MAX_CLASS)
                + "' is not allowed; use a multiple of 16 bytes from 16 to 1m (slots keep blocks 16-byte aligned)");
        }
        maxClass = (int) largest;
        classesPerDoubling = config.integer(CLASSES_PER_DOUBLING, 4, 1, 16);
        long smallestSlab = Math.max(Slab.PAGE, Long.highestOneBit(largest * MIN_SLOTS_PER_SLAB - 1) << 1);
        long slab = config.bytes(SLAB_SIZE, Math.max(256 << 10, smallestSlab), smallestSlab, 16 << 20);
        if (Long.bitCount(slab) != 1) {
            throw new InvalidConfigException(SLAB_SIZE + ": '" + config.raw(SLAB_SIZE)
                + "' is not allowed; use a power of two from " + smallestSlab + " (8 slots of "
                + MAX_CLASS + "=" + maxClass + ") to 16m");
        }
        slabSize = (int) slab;
        maxSlabsPerClass = config.integer(MAX_SLABS_PER_CLASS, 1 << 16, 1, 1 << 24);
        reclaim = config.choice(RECLAIM, Reclaim.class, Reclaim.DELAYED);
        reclaimDelayNanos = TimeUnit.MILLISECONDS.toNanos(config.integer(RECLAIM_DELAY_MS, 1000, 0, 86_400_000));
        emptySlabsKept = config.integer(EMPTY_SLABS_KEPT, 1, 0, 1 << 16);
        magazineSize = config.integer(MAGAZINE_SIZE, 256, 0, 4096);
        limit = config.bytes(AllocatorConfig.LIMIT, 0, 0, Long.MAX_VALUE);
    }

    /**
     * Reads and validates the settings.
     *
     * @throws InvalidConfigException naming the key, the value and what is allowed
     */
    static SlabSettings from(AllocatorConfig config) {
        return new SlabSettings(config);
    }

    int maxClass() {
        return maxClass;
    }

    int classesPerDoubling() {
        return classesPerDoubling;
    }

    int slabSize() {
        return slabSize;
    }

    int maxSlabsPerClass() {
        return maxSlabsPerClass;
    }

    boolean reclaims() {
        return reclaim == Reclaim.DELAYED;
    }

    long reclaimDelayNanos() {
        return reclaimDelayNanos;
    }

    int emptySlabsKept() {
        return emptySlabsKept;
    }

    /** Slots per class and thread in a magazine at most; 0 for none. */
    int magazineSize() {
        return magazineSize;
    }

    /** {@code allocator.limit}, or 0. */
    long limit() {
        return limit;
    }
}
