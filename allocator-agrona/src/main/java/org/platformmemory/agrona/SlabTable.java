package org.platformmemory.agrona;

import java.util.Arrays;

/**
 * The slabs of one size class, sorted by address, so a freed block finds its slab by binary search.
 * Immutable: a class publishes a new table when it gains or loses a slab, so readers need no lock.
 */
final class SlabTable {

    static final SlabTable EMPTY = new SlabTable(new long[0], new Slab[0]);

    private final long[] bases;
    private final Slab[] slabs;

    private SlabTable(long[] bases, Slab[] slabs) {
        this.bases = bases;
        this.slabs = slabs;
    }

    int size() {
        return slabs.length;
    }

    Slab get(int index) {
        return slabs[index];
    }

    /** The slab whose slot area starts at or below {@code address}: the block's slab, for our blocks. */
    Slab find(long address) {
        long[] b = bases;
        int low = 0;
        int high = b.length - 1;
        while (low < high) {
            int mid = (low + high + 1) >>> 1;
            if (b[mid] <= address) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        return slabs[low];
    }

    /** This table with {@code slab} added. */
    SlabTable with(Slab slab) {
        int at = Arrays.binarySearch(bases, slab.base());
        int insert = at >= 0 ? at : -at - 1;
        long[] b = new long[bases.length + 1];
        Slab[] s = new Slab[slabs.length + 1];
        System.arraycopy(bases, 0, b, 0, insert);
        System.arraycopy(slabs, 0, s, 0, insert);
        b[insert] = slab.base();
        s[insert] = slab;
        System.arraycopy(bases, insert, b, insert + 1, bases.length - insert);
        System.arraycopy(slabs, insert, s, insert + 1, slabs.length - insert);
        return new SlabTable(b, s);
    }

    /** This table without its retired slabs. */
    SlabTable withoutRetired() {
        int kept = 0;
        for (Slab slab : slabs) {
            kept += slab.isRetired() ? 0 : 1;
        }
        long[] b = new long[kept];
        Slab[] s = new Slab[kept];
        int i = 0;
        for (Slab slab : slabs) {
            if (!slab.isRetired()) {
                b[i] = slab.base();
                s[i++] = slab;
            }
        }
        return new SlabTable(b, s);
    }
}
