package org.platformmemory.api.kit;

import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A few expensive things (a backend's chunks of fresh memory) made ahead of need by a daemon thread, so
 * that the thread that needs one takes it ready instead of making it itself.
 *
 * <p>Why: fresh memory costs its page faults when first touched (measured on the 2-core benchmark machine:
 * 13 ms for a 4 MiB chunk, 3 us a page), on whatever thread first writes it. A maker that touches what it
 * makes takes those faults on another core, before they are needed, at the price of memory that is
 * resident before anything uses it.
 *
 * <p>The maker thread starts with the first {@link #poll} (an allocator that never grows never starts it),
 * keeps {@code target} things ready, and ends at {@link #close}, which discards whatever is ready. Things
 * the owner no longer needs may come back through {@link #offer} instead of being discarded. Thread-safe.
 *
 * @param <T> what is made
 */
public final class ReadyPool<T> implements AutoCloseable {

    private final String name;
    private final int target;
    private final Supplier<T> make;
    private final Consumer<T> discard;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wanted = lock.newCondition();

    // guarded by lock
    private final ArrayDeque<T> ready = new ArrayDeque<>();
    private boolean started;
    private boolean closed;
    private boolean making; // from a poll until a clear
    private long made;
    private long taken;
    private long missed;

    /**
     * @param name    the maker thread's name
     * @param target  how many to keep ready (0: none; {@link #poll} then always returns null)
     * @param make    makes one, or returns null when it cannot now (the maker waits a little and tries again)
     * @param discard gives one back for good (at {@link #close}, {@link #clear}, and for a surplus offer)
     */
    public ReadyPool(String name, int target, Supplier<T> make, Consumer<T> discard) {
        if (target < 0) {
            throw new IllegalArgumentException("target " + target);
        }
        this.name = name;
        this.target = target;
        this.make = make;
        this.discard = discard;
    }

    /** One ready thing, or null when none is (the caller makes its own); either way the maker makes more. */
    public T poll() {
        if (target == 0) {
            return null;
        }
        lock.lock();
        try {
            if (closed) {
                return null;
            }
            T thing = ready.pollFirst();
            making = true;
            if (thing == null) {
                missed++;
            } else {
                taken++;
            }
            startOrWake();
            return thing;
        } finally {
            lock.unlock();
        }
    }

    /** Keeps {@code thing} (ready for use as a made one) if fewer than the target are ready: whether it did. */
    public boolean offer(T thing) {
        lock.lock();
        try {
            if (closed || ready.size() >= target) {
                return false;
            }
            ready.addLast(thing);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Discards whatever is ready now (to give memory back); the maker makes more after the next {@link #poll}. */
    public void clear() {
        drain(false);
    }

    /** Discards whatever is ready and stops the maker; {@link #poll} returns null from now on. */
    @Override
    public void close() {
        drain(true);
    }

    /** How many are ready now. */
    public int ready() {
        lock.lock();
        try {
            return ready.size();
        } finally {
            lock.unlock();
        }
    }

    /** Made by the maker so far, taken ready by {@link #poll}, and polls that found none: in that order. */
    public long[] counts() {
        lock.lock();
        try {
            return new long[] {made, taken, missed};
        } finally {
            lock.unlock();
        }
    }

    private void drain(boolean close) {
        ArrayDeque<T> gone;
        lock.lock();
        try {
            closed |= close;
            making = false;
            gone = new ArrayDeque<>(ready);
            ready.clear();
            wanted.signalAll();
        } finally {
            lock.unlock();
        }
        gone.forEach(discard);
    }

    // under the lock
    private void startOrWake() {
        if (started) {
            wanted.signal();
            return;
        }
        try {
            Thread.ofPlatform().daemon(true).name(name).start(this::makeAhead);
            started = true;
        } catch (Throwable t) {
            // no thread now (out of memory or of threads): the owner makes its own; the next poll tries again
        }
    }

    private void makeAhead() {
        for (;;) {
            lock.lock();
            try {
                while (!closed && (!making || ready.size() >= target)) {
                    wanted.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
            } finally {
                lock.unlock();
            }
            T thing;
            try {
                thing = make.get();
            } catch (Throwable t) {
                thing = null; // as "cannot now": tried again after a pause
            }
            if (thing == null) {
                if (!pause()) {
                    return; // interrupted: the owner's threads make their own from now on
                }
                continue; // no memory now: tried again a little later rather than in a spin
            }
            boolean keep;
            lock.lock();
            try {
                keep = !closed && making;
                if (keep) {
                    ready.addLast(thing);
                    made++;
                }
            } finally {
                lock.unlock();
            }
            if (!keep) {
                discard.accept(thing); // closed or cleared while it was made
            }
        }
    }

    private static boolean pause() {
        try {
            Thread.sleep(100);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
