package org.platformmemory.api.internal;

/**
 * The addresses of live blocks: a lock-striped, open-addressing hash set of {@code long}s with no boxing
 * and no allocation except when a stripe grows.
 *
 * <p>It answers "is this a block we handed out and have not freed?" without touching the memory at the
 * address, so a foreign or stale pointer (even one into unmapped memory) is recognised without a crash,
 * and {@link #remove} is the single atomic claim that stops two threads freeing one block. Each stripe
 * also remembers its most recently removed addresses, which tells a double free from a foreign pointer.
 */
public final class LiveBlockSet {

    /** Reads a live block under its stripe's lock, see {@link #readIfLive}. */
    @FunctionalInterface
    public interface Reader {
        long read(long address);
    }

    /** Called for each address by {@link #forEach}, under the stripe's lock. */
    @FunctionalInterface
    public interface Visitor {
        void visit(long address);
    }

    private static final int INITIAL_CAPACITY = 64;
    private static final int RECENT = 64;

    private final Stripe[] stripes;
    private final int mask;

    /** @param concurrency the number of stripes, rounded up to a power of two */
    public LiveBlockSet(int concurrency) {
        int n = Integer.highestOneBit(Math.max(1, concurrency - 1)) << 1;
        stripes = new Stripe[n];
        for (int i = 0; i < n; i++) {
            stripes[i] = new Stripe();
        }
        mask = n - 1;
    }

    private static long mix(long address) {
        long h = (address >>> 4) * 0x9E3779B97F4A7C15L;
        return h ^ (h >>> 32);
    }

    private Stripe stripe(long hash) {
        return stripes[(int) hash & mask];
    }

    /** Adds a live block's address (never 0). */
    public void add(long address) {
        long h = mix(address);
        Stripe s = stripe(h);
        synchronized (s) {
            s.insert(address, h);
        }
    }

    /** Removes {@code address} if it is live; the caller that gets {@code true} owns the block now. */
    public boolean remove(long address) {
        long h = mix(address);
        Stripe s = stripe(h);
        synchronized (s) {
            return s.delete(address, h);
        }
    }

    /** Whether {@code address} is a live block. */
    public boolean contains(long address) {
        long h = mix(address);
        Stripe s = stripe(h);
        synchronized (s) {
            return s.find(address, h) >= 0;
        }
    }

    /**
     * {@code reader.read(address)} if {@code address} is live, under the stripe's lock so that the block
     * cannot be freed meanwhile; otherwise {@code otherwise}.
     */
    public long readIfLive(long address, Reader reader, long otherwise) {
        long h = mix(address);
        Stripe s = stripe(h);
        synchronized (s) {
            return s.find(address, h) >= 0 ? reader.read(address) : otherwise;
        }
    }

    /** Whether {@code address} is among the most recently removed (and is not live again). */
    public boolean recentlyRemoved(long address) {
        long h = mix(address);
        Stripe s = stripe(h);
        synchronized (s) {
            if (s.find(address, h) >= 0) {
                return false;
            }
            for (long r : s.recent) {
                if (r == address) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Visits every live address, one stripe at a time under that stripe's lock, so that no visited block
     * can be freed while it is being looked at.
     */
    public void forEach(Visitor visitor) {
        for (Stripe s : stripes) {
            synchronized (s) {
                for (long a : s.table) {
                    if (a != 0) {
                        visitor.visit(a);
                    }
                }
            }
        }
    }

    /** The number of live addresses (exact when no other thread is changing the set). */
    public long size() {
        long n = 0;
        for (Stripe s : stripes) {
            synchronized (s) {
                n += s.size;
            }
        }
        return n;
    }

    /** Removes and returns every live address. */
    public long[] drain() {
        long[] all = new long[0];
        int count = 0;
        for (Stripe s : stripes) {
            synchronized (s) {
                if (count + s.size > all.length) {
                    all = java.util.Arrays.copyOf(all, count + s.size);
                }
                for (long a : s.table) {
                    if (a != 0) {
                        all[count++] = a;
                    }
                }
                s.table = new long[INITIAL_CAPACITY];
                s.size = 0;
            }
        }
        return java.util.Arrays.copyOf(all, count);
    }

    private static final class Stripe {
        long[] table = new long[INITIAL_CAPACITY];
        int size;
        final long[] recent = new long[RECENT];
        int recentNext;
        // keeps two stripes' hot fields off one cache line
        @SuppressWarnings("unused")
        long p1, p2, p3, p4, p5, p6;

        int find(long address, long hash) {
            long[] t = table;
            int m = t.length - 1;
            for (int i = (int) (hash >>> 40) & m; ; i = (i + 1) & m) {
                long a = t[i];
                if (a == address) {
                    return i;
                }
                if (a == 0) {
                    return -1;
                }
            }
        }

        void insert(long address, long hash) {
            if ((size + 1) * 2 > table.length) {
                grow();
            }
            long[] t = table;
            int m = t.length - 1;
            int i = (int) (hash >>> 40) & m;
            while (t[i] != 0) {
                if (t[i] == address) {
                    return;
                }
                i = (i + 1) & m;
            }
            t[i] = address;
            size++;
        }

        boolean delete(long address, long hash) {
            int i = find(address, hash);
            if (i < 0) {
                return false;
            }
            long[] t = table;
            int m = t.length - 1;
            // backward-shift deletion keeps probe chains whole without tombstones
            int hole = i;
            for (int j = (hole + 1) & m; t[j] != 0; j = (j + 1) & m) {
                int home = (int) (mix(t[j]) >>> 40) & m;
                if (((j - home) & m) >= ((j - hole) & m)) {
                    t[hole] = t[j];
                    hole = j;
                }
            }
            t[hole] = 0;
            size--;
            recent[recentNext] = address;
            recentNext = (recentNext + 1) & (RECENT - 1);
            return true;
        }

        private void grow() {
            long[] old = table;
            long[] t = new long[old.length * 2];
            int m = t.length - 1;
            for (long a : old) {
                if (a != 0) {
                    int i = (int) (mix(a) >>> 40) & m;
                    while (t[i] != 0) {
                        i = (i + 1) & m;
                    }
                    t[i] = a;
                }
            }
            table = t;
        }
    }
}
