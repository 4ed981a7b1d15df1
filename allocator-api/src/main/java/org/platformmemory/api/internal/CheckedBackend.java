package org.platformmemory.api.internal;

import java.time.Duration;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.ErrorCode;

import static org.platformmemory.api.internal.ErrorReporter.hex;

/**
 * The backend as the facade calls it: whatever a backend throws, and any address it returns that is
 * not aligned as asked, becomes a {@link ErrorCode#BACKEND_FAILURE} report and a failed call, so a
 * faulty backend can fail a call but never corrupt the facade's state.
 *
 * <p>Each method takes the allocator to use, {@code source}: the backend itself, or one of its
 * private heaps ({@link Allocator#createHeap()}). Thread-safe as the backend is.
 */
public final class CheckedBackend {

    private final Allocator backend;
    private final ErrorReporter errors;

    public CheckedBackend(Allocator backend, ErrorReporter errors) {
        this.backend = backend;
        this.errors = errors;
    }

    /** The backend itself. */
    public Allocator backend() {
        return backend;
    }

    /** The backend's name. */
    public String name() {
        return backend.name();
    }

    /** A block of {@code total} bytes aligned to {@code align}, or 0 (out of memory, or reported). */
    public long allocate(Allocator source, long total, long align) {
        long base;
        try {
            base = source.allocate(total, align);
        } catch (Throwable t) {
            return threw("allocating " + total + " bytes", t, 0);
        }
        if (base != 0 && (base < 0 || (base & (align - 1)) != 0)) {
            return misaligned(source, base, total, align);
        }
        return base;
    }

    /** As {@link #allocate}, a block whose bytes all read as zero: the backend's {@link Allocator#allocateZeroed}. */
    public long allocateZeroed(Allocator source, long total, long align) {
        long base;
        try {
            base = source.allocateZeroed(total, align);
        } catch (Throwable t) {
            return threw("allocating " + total + " cleared bytes", t, 0);
        }
        if (base != 0 && (base < 0 || (base & (align - 1)) != 0)) {
            return misaligned(source, base, total, align);
        }
        return base;
    }

    private long misaligned(Allocator source, long base, long total, long align) {
        errors.report(ErrorCode.BACKEND_FAILURE, "backend '" + name() + "' returned " + hex(base)
            + ", which is not aligned to " + align + "; gave it back", base);
        try {
            source.free(base, total, align);
        } catch (Throwable ignored) {
            // already reported; the block is the backend's problem now
        }
        return 0;
    }

    /**
     * Up to {@code count} blocks of {@code total} bytes aligned to {@link Allocator#MIN_ALIGNMENT} into
     * {@code into[0..)}, checked as {@link #allocate} checks one (a block that is not aligned is reported and
     * given back): how many there are.
     */
    public int allocateBatch(Allocator source, long total, long[] into, int count) {
        int made;
        try {
            made = source.allocateBatch(total, into, count);
        } catch (Throwable t) {
            return (int) threw("allocating a batch of " + count + " blocks of " + total + " bytes", t, 0);
        }
        int kept = 0;
        for (int i = 0; i < Math.min(made, count); i++) {
            long base = into[i];
            if (base > 0 && (base & (Allocator.MIN_ALIGNMENT - 1)) == 0) {
                into[kept++] = base;
            } else if (base != 0) {
                misaligned(source, base, total, Allocator.MIN_ALIGNMENT);
            } else {
                errors.report(ErrorCode.BACKEND_FAILURE, "backend '" + name() + "' counted a null block in a batch of "
                    + total + " bytes", 0);
            }
        }
        return kept;
    }

    /** Gives back {@code count} blocks {@link #allocateBatch} returned; a backend that throws is reported. */
    public void freeBatch(Allocator source, long total, long[] from, int count) {
        try {
            source.freeBatch(total, from, count);
        } catch (Throwable t) {
            threw("while freeing a batch of " + count + " blocks of " + total + " bytes", t, count > 0 ? from[0] : 0);
        }
    }

    /** The block moved or resized, or 0 with the old block intact (out of memory) or unknown (reported). */
    public long reallocate(Allocator source, long base, long oldTotal, long newTotal, long align) {
        long moved;
        try {
            moved = source.reallocate(base, oldTotal, newTotal, align);
        } catch (Throwable t) {
            return threw("reallocating " + hex(base) + " to " + newTotal + " bytes", t, base);
        }
        if (moved != 0 && (moved < 0 || (moved & (align - 1)) != 0)) {
            // the old block may be gone already; the new one is unusable: report and lose it rather than corrupt
            errors.report(ErrorCode.BACKEND_FAILURE, "backend '" + name() + "' returned " + hex(moved)
                + " from reallocate, which is not aligned to " + align, moved);
            return 0;
        }
        return moved;
    }

    /** Gives a block back; a backend that throws is reported ({@code user} names the block in the report). */
    public void free(Allocator source, long base, long total, long align, long user) {
        try {
            source.free(base, total, align);
        } catch (Throwable t) {
            threw("while freeing " + hex(user), t, user);
        }
    }

    /**
     * Reports a throw from the backend ({@link ErrorCode#BACKEND_FAILURE}) doing {@code what}, in the one
     * wording every call's failure has; returns 0 for the failed call to return. Out of line: the calls'
     * common paths stay small enough to inline.
     */
    private long threw(String what, Throwable t, long address) {
        errors.report(ErrorCode.BACKEND_FAILURE, "backend '" + name() + "' threw " + what + ": " + t, address);
        return 0;
    }

    /**
     * A private heap of the backend's own, the backend itself when it has none, or null when it threw
     * (reported).
     */
    public Allocator createHeap() {
        try {
            Allocator heap = backend.createHeap();
            return heap != null ? heap : backend;
        } catch (Throwable t) {
            threw("creating a heap", t, 0);
            return null;
        }
    }

    /** {@link Allocator#mappedBytes}; -1 when the backend throws (reported). */
    public long mappedBytes() {
        return figure(Allocator::mappedBytes, "reading its mapped bytes");
    }

    /** {@link Allocator#residentBytes}; -1 when the backend throws (reported). */
    public long residentBytes() {
        return figure(Allocator::residentBytes, "reading its resident bytes");
    }

    /** One of the backend's figures; -1 when it throws (reported as {@code what}). */
    private long figure(java.util.function.ToLongFunction<Allocator> read, String what) {
        try {
            return read.applyAsLong(backend);
        } catch (Throwable t) {
            threw(what, t, 0);
            return -1;
        }
    }

    /** Asks the backend to give its unused memory back ({@link Allocator#trim}); a throw is reported. */
    public void trim() {
        try {
            backend.trim();
        } catch (Throwable t) {
            threw("while trimming", t, 0);
        }
    }

    /** Closes {@code source} (the backend or one of its heaps); a failure is reported as {@code what}. */
    public void close(Allocator source, String what) {
        try {
            source.close();
        } catch (Throwable t) {
            threw(what, t, 0);
        }
    }

    /**
     * Closes the backend now ({@code delay} zero) or after {@code delay} on a daemon thread, so that a call
     * descheduled mid-way never touches memory the backend has unmapped.
     */
    public void closeAfter(Duration delay) {
        if (delay.isZero()) {
            close(backend, "closing");
            return;
        }
        Thread.ofPlatform().daemon(true).name("platform-memory-close").start(() -> {
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            close(backend, "closing");
        });
    }
}
