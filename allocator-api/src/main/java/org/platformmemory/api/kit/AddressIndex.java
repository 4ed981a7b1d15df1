package org.platformmemory.api.kit;

import java.util.Arrays;
import java.util.function.Predicate;

/**
 * An immutable index of regions (chunks, slabs) sorted by base address, to find the region holding an
 * address by binary search. Changes make a new index, so an owner publishes it through a
 * {@code volatile} field, changes it under its own lock, and readers need none (copy-on-write: regions
 * come and go rarely, lookups happen on every free).
 *
 * <p>Addresses compare unsigned. Thread-safe (immutable); lookups allocate nothing.
 *
 * @param <T> the region
 */
public final class AddressIndex<T> {

    private static final AddressIndex<?> EMPTY = new AddressIndex<>(new long[0], new Object[0]);

    private final long[] bases;
    private final Object[] regions;

    private AddressIndex(long[] bases, Object[] regions) {
        this.bases = bases;
        this.regions = regions;
    }

    /** The index with no region. */
    @SuppressWarnings("unchecked")
    public static <T> AddressIndex<T> empty() {
        return (AddressIndex<T>) EMPTY;
    }

    /** How many regions there are. */
    public int size() {
        return regions.length;
    }

    /** The region at {@code position}, {@code 0..size()-1}, in ascending order of base. */
    @SuppressWarnings("unchecked")
    public T get(int position) {
        return (T) regions[position];
    }

    /**
     * The region with the greatest base at or below {@code address}: the region holding it, when the
     * address lies in one of the regions.
     *
     * @return that region, or {@code null} when the index is empty or the address lies below every base
     */
    @SuppressWarnings("unchecked")
    public T floor(long address) {
        long[] b = bases;
        int low = 0;
        int high = b.length - 1;
        while (low < high) {
            int mid = (low + high + 1) >>> 1;
            if (Long.compareUnsigned(b[mid], address) <= 0) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        // one compare at the end instead of one per step
        return high >= 0 && Long.compareUnsigned(b[low], address) <= 0 ? (T) regions[low] : null;
    }

    /** This index with {@code region} added at {@code base} (after any region with the same base). */
    public AddressIndex<T> with(long base, T region) {
        int at = 0;
        while (at < bases.length && Long.compareUnsigned(bases[at], base) <= 0) {
            at++;
        }
        long[] b = new long[bases.length + 1];
        Object[] r = new Object[regions.length + 1];
        System.arraycopy(bases, 0, b, 0, at);
        System.arraycopy(regions, 0, r, 0, at);
        b[at] = base;
        r[at] = region;
        System.arraycopy(bases, at, b, at + 1, bases.length - at);
        System.arraycopy(regions, at, r, at + 1, regions.length - at);
        return new AddressIndex<>(b, r);
    }

    /** This index without {@code region} (compared by identity); this same index when it is not in it. */
    public AddressIndex<T> without(T region) {
        return withoutIf(r -> r == region);
    }

    /** This index without every region {@code drop} accepts; this same index when it accepts none. */
    @SuppressWarnings("unchecked")
    public AddressIndex<T> withoutIf(Predicate<? super T> drop) {
        long[] b = new long[bases.length];
        Object[] r = new Object[regions.length];
        int kept = 0;
        for (int i = 0; i < regions.length; i++) {
            if (!drop.test((T) regions[i])) {
                b[kept] = bases[i];
                r[kept++] = regions[i];
            }
        }
        if (kept == regions.length) {
            return this;
        }
        return new AddressIndex<>(Arrays.copyOf(b, kept), Arrays.copyOf(r, kept));
    }
}
