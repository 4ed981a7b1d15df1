package org.platformmemory.api.kit;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One state object per thread, made on the thread's first {@link #current()}, and handed to a retire
 * action once its thread has ended: the one policy the backends share for threads that end.
 *
 * <p>The policy: a registered state knows its thread only through a {@link WeakReference}, and
 * {@link #retireEnded()} retires every state whose thread is gone or no longer alive. It runs when a
 * thread registers (so thread churn never lets ended threads' states pile up: each new thread clears
 * the ended ones first), and whenever the owner calls it on its own slow paths. Why this one of the
 * three the backends had: a strong {@code Thread} reference keeps every ended thread reachable until a
 * sweep, which only ran every 256 misses, so short-lived threads piled up; a {@code Cleaner} waits for
 * a GC to collect the thread and needs a sweep anyway for timely return; a weak reference plus
 * {@code isAlive()} needs no GC and no extra thread, and is exact: a thread's end happens-before
 * another thread sees {@code isAlive() == false}, so the retire action reads the state's last writes.
 *
 * <p>Thread-safe. {@link #current()} is the hot path: one {@link ThreadLocal} lookup, no lock, no
 * allocation once the thread is registered. A live thread's state is only ever touched by that thread
 * (and by {@link #forEach} readers, racily); the retire action runs on whichever thread noticed the
 * end, outside this object's lock, exactly once per state.
 *
 * <p>This object is itself the thread-local, and {@link ThreadStacks} is itself one of these, so that
 * the object a backend keeps in its field is the thread-local: from that field to the thread's state
 * is then one hash lookup, with no hop through a field holding the thread-local. Each such hop was
 * measured (issue 10): two of them made the {@code arena} backend's 64-byte pair about 1.5 ns (15%)
 * slower. What a state is, and when it goes, is decided here alone: {@link #set} and {@link #remove}
 * are not supported, and every method but the kit's own two hooks is final.
 *
 * @param <T> the per-thread state
 */
public class PerThread<T> extends ThreadLocal<T> {

    private final Supplier<? extends T> factory;
    private final Consumer<? super T> retire;
    // guarded by itself
    private final List<Owned<T>> registered = new ArrayList<>();

    /**
     * @param factory makes the state of a thread that has none; runs on that thread and must not call
     *                back into this object
     * @param retire  takes over the state of a thread that ended (or every state at {@link #retireAll})
     */
    public PerThread(Supplier<? extends T> factory, Consumer<? super T> retire) {
        this.factory = Objects.requireNonNull(factory);
        this.retire = Objects.requireNonNull(retire);
    }

    // for a kit class that is its own per-thread policy: it overrides create and retire
    PerThread() {
        this.factory = null;
        this.retire = null;
    }

    /** Makes the calling thread's state; the kit's subclasses override it instead of passing a factory. */
    T create() {
        return factory.get();
    }

    /** Takes over an ended thread's state; the kit's subclasses override it instead of passing an action. */
    void retire(T state) {
        retire.accept(state);
    }

    /** The calling thread's state, made and registered on its first call; never {@code null}. */
    public final T current() {
        return get();
    }

    /** Makes and registers the calling thread's state: the thread-local's first {@link #get()}. */
    @Override
    protected final T initialValue() {
        return register();
    }

    /** Not supported: a thread's state is made by the factory and retired by this object's policy. */
    @Override
    public final void set(T value) {
        throw new UnsupportedOperationException("a thread's state is made by the factory");
    }

    /** Not supported: a thread's state goes by {@link #retireEnded}, {@link #retireAll} or {@link #forgetAll}. */
    @Override
    public final void remove() {
        throw new UnsupportedOperationException("a thread's state goes by retiring it");
    }

    private T register() {
        T state = create();
        retireEnded();
        synchronized (registered) {
            registered.add(new Owned<>(Thread.currentThread(), state));
        }
        return state;
    }

    /**
     * Retires the states of every thread that has ended: each goes to the retire action once, and is
     * forgotten.
     *
     * @return whether any state was retired
     */
    public final boolean retireEnded() {
        List<T> ended = null;
        synchronized (registered) {
            for (int i = registered.size() - 1; i >= 0; i--) {
                Owned<T> owned = registered.get(i);
                Thread thread = owned.get();
                if (thread == null || !thread.isAlive()) {
                    if (ended == null) {
                        ended = new ArrayList<>();
                    }
                    ended.add(owned.state);
                    // order does not matter: move the last one here
                    registered.set(i, registered.get(registered.size() - 1));
                    registered.remove(registered.size() - 1);
                }
            }
        }
        if (ended == null) {
            return false;
        }
        // outside the lock: the action may take the owner's locks, and those may call retireEnded
        ended.forEach(this::retire);
        return true;
    }

    /** How many threads have a registered state now (live ones, and ended ones not yet retired). */
    public final int threads() {
        synchronized (registered) {
            return registered.size();
        }
    }

    /**
     * Shows every registered state to {@code reader}, under this object's lock (so the reader must not
     * call back into it). Other threads may be changing their states meanwhile: what the reader sees is
     * racy, for statistics only.
     */
    public final void forEach(Consumer<? super T> reader) {
        synchronized (registered) {
            for (Owned<T> owned : registered) {
                reader.accept(owned.state);
            }
        }
    }

    /**
     * Retires every registered state, live threads' too, and forgets them: for shutting down only, when
     * no other thread uses this object any more. The calling thread's next {@link #current()} makes a
     * fresh state; another live thread would keep its retired one.
     */
    public final void retireAll() {
        List<T> all = new ArrayList<>();
        synchronized (registered) {
            registered.forEach(owned -> all.add(owned.state));
            registered.clear();
        }
        super.remove();
        all.forEach(this::retire);
    }

    /**
     * Forgets every registered state without retiring any: for shutting down when what the states hold
     * is about to vanish anyway. The calling thread's next {@link #current()} makes a fresh state.
     */
    public final void forgetAll() {
        synchronized (registered) {
            registered.clear();
        }
        super.remove();
    }

    // one registration: the thread weakly (never keeps an ended thread reachable), its state strongly
    private static final class Owned<T> extends WeakReference<Thread> {
        final T state;

        Owned(Thread thread, T state) {
            super(thread);
            this.state = state;
        }
    }
}
