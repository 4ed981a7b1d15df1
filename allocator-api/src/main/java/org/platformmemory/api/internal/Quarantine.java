package org.platformmemory.api.internal;

import org.platformmemory.api.ErrorCode;
import org.platformmemory.api.kit.NativeMemory;

import static org.platformmemory.api.internal.ErrorReporter.hex;

/**
 * The debug quarantine: freed blocks, filled with {@link BlockHeader#FILL_FREED} from their front guard to
 * the end of their back guard, are held back here before the backend may hand their memory out again.
 * That does two things a debug heap is for:
 * <ul>
 *   <li>a write after free is found: when a block leaves (the oldest first, once more than
 *       {@code maxBytes} or {@code maxBlocks} are held), on {@link #checkAll} and on close, a changed
 *       byte is reported as {@link ErrorCode#USE_AFTER_FREE} with the block's allocation site;
 *   <li>a stale pointer cannot free someone else's block: while a block is held nobody else gets its
 *       address, so a second free of it is a {@link ErrorCode#DOUBLE_FREE} ({@link #holds}).
 * </ul>
 * Only blocks freed one by one whose memory goes back to the backend itself are held; a block of a heap
 * of the backend's own goes with its heap, and a heap's destroy gives all its blocks back at once. With {@code maxBytes == 0} nothing is held. Thread-safe: one lock for the
 * queue; fills are checked, errors reported and memory freed outside it.
 */
public final class Quarantine {

    /** Blocks held at most by default. */
    public static final int DEFAULT_BLOCKS = 65_536;

    private final long maxBytes;
    private final int maxBlocks;
    private final BlockHeader header;
    private final CheckedBackend backend;
    private final Tracker tracker;
    private final ErrorReporter errors;
    private final LiveBlockSet members = new LiveBlockSet(4);

    // a ring of held blocks, oldest at `first`; guarded by `this`
    private long[] users = new long[16];
    private long[] words = new long[16];
    private int first;
    private int count;
    private long bytes;

    public Quarantine(long maxBytes, int maxBlocks, BlockHeader header, CheckedBackend backend, Tracker tracker,
                      ErrorReporter errors) {
        this.maxBytes = maxBytes;
        this.maxBlocks = maxBlocks;
        this.header = header;
        this.backend = backend;
        this.tracker = tracker;
        this.errors = errors;
    }

    /** Whether this quarantine holds anything at all (a byte bound above 0). */
    public boolean enabled() {
        return maxBytes > 0 && maxBlocks > 0;
    }

    /**
     * Holds a freed block that {@link Tracker#beforeRelease} has checked and filled, instead of freeing it;
     * the oldest blocks leave (checked, then freed) while the bounds are exceeded.
     *
     * @return false when the quarantine is off: the caller frees the block itself
     */
    public boolean hold(long user, long word0) {
        if (!enabled()) {
            return false;
        }
        long[] leaving;
        synchronized (this) {
            if (count == users.length) {
                grow();
            }
            int slot = (first + count) % users.length;
            users[slot] = user;
            words[slot] = word0;
            count++;
            bytes += BlockHeader.sizeOf(word0);
            members.add(user, LiveBlockSet.NONE);
            leaving = takeOldest(false);
        }
        leave(leaving);
        return true;
    }

    /** Whether {@code user} is a block held here: freed, and not handed out again since. */
    public boolean holds(long user) {
        return members.contains(user);
    }

    /** Blocks held now. */
    public synchronized int size() {
        return count;
    }

    /** Bytes (as the callers asked for them) held now. */
    public synchronized long bytes() {
        return bytes;
    }

    /**
     * Checks the fill of every held block, reporting each changed one as {@link ErrorCode#USE_AFTER_FREE}
     * (and filling it again, so one write is reported once).
     *
     * @return the number of damaged blocks found
     */
    public int checkAll() {
        long[] held;
        synchronized (this) {
            held = new long[count * 2];
            for (int i = 0; i < count; i++) {
                int slot = (first + i) % users.length;
                held[2 * i] = users[slot];
                held[2 * i + 1] = words[slot];
            }
        }
        // a block may leave (and be freed) meanwhile: each is read only while it is still held, under the
        // members' stripe lock that its leaving takes too; reports are made after
        int damaged = 0;
        for (int i = 0; i < held.length; i += 2) {
            long user = held[i];
            long size = BlockHeader.sizeOf(held[i + 1]);
            String[] found = {null};
            members.readIfLive(user, u -> {
                found[0] = describeWrite(u, size, firstChange(u, size));
                return 0;
            }, 0);
            if (found[0] != null) {
                damaged++;
                errors.report(ErrorCode.USE_AFTER_FREE, "heap check: " + found[0], user);
            }
        }
        return damaged;
    }

    /** Lets every held block go (checked, then freed): before the backend closes. */
    public void releaseAll() {
        long[] leaving;
        synchronized (this) {
            leaving = takeOldest(true);
        }
        leave(leaving);
    }

    /** Takes the blocks that must leave (all of them, or the oldest beyond the bounds); holds the lock. */
    private long[] takeOldest(boolean all) {
        int leaving = 0;
        for (long left = bytes; leaving < count && (all || left > maxBytes || count - leaving > maxBlocks); leaving++) {
            left -= BlockHeader.sizeOf(words[(first + leaving) % users.length]);
        }
        if (leaving == 0) {
            return null;
        }
        long[] pairs = new long[2 * leaving];
        for (int i = 0; i < leaving; i++) {
            long user = users[first];
            long word0 = words[first];
            first = (first + 1) % users.length;
            count--;
            bytes -= BlockHeader.sizeOf(word0);
            members.remove(user, LiveBlockSet.NONE);
            pairs[2 * i] = user;
            pairs[2 * i + 1] = word0;
        }
        return pairs;
    }

    /** Checks and frees blocks taken out of the queue. */
    private void leave(long[] pairs) {
        if (pairs == null) {
            return;
        }
        for (int i = 0; i < pairs.length; i += 2) {
            long user = pairs[i];
            long word0 = pairs[i + 1];
            long size = BlockHeader.sizeOf(word0);
            String write = describeWrite(user, size, firstChange(user, size));
            if (write != null) {
                errors.report(ErrorCode.USE_AFTER_FREE, "leaving the quarantine: " + write, user);
            }
            long align = 1L << BlockHeader.alignmentLog2Of(word0);
            backend.free(backend.backend(), user - header.offsetFor(align), header.overheadFor(align) + size, align, user);
        }
    }

    /** The offset (from the front guard) of the first byte that is no longer the freed fill, or -1. */
    private static long firstChange(long user, long size) {
        return NativeMemory.mismatch(user - BlockHeader.GUARD, size + 2L * BlockHeader.GUARD, BlockHeader.FILL_FREED);
    }

    /**
     * What a write after free changed, with the block's site, filling the block again so one write is
     * told once; null when nothing changed ({@code change} -1). The block must still be held.
     */
    private String describeWrite(long user, long size, long change) {
        if (change < 0) {
            return null;
        }
        long at = change - BlockHeader.GUARD;
        int now = NativeMemory.getByte(user + at) & 0xFF;
        String where = at < 0 ? "the byte " + (-at) + " before it" : at >= size ? "byte " + at + " (past its end)" : "byte " + at;
        NativeMemory.fill(user - BlockHeader.GUARD, size + 2L * BlockHeader.GUARD, BlockHeader.FILL_FREED);
        return "block " + hex(user) + " (" + size + " bytes) was written after it was freed: " + where + " is 0x"
            + String.format("%02X", now) + ", not 0xDD; " + history(user);
    }

    /** "allocated at SITE, allocation #N; freed at SITE" for a held block. */
    private String history(long user) {
        String origin = ErrorReporter.origin(tracker.siteOf(user), tracker.numberOf(user));
        String freedAt = tracker.freeSiteOf(user);
        return (origin != null ? origin : "allocated at an unknown site") + "; freed at "
            + (freedAt != null ? freedAt : "an unknown site");
    }

    /**
     * Where a block held here was allocated and freed ({@link #history}), or null when it is not held: read
     * under the members' lock its leaving takes, so the block is not freed meanwhile.
     */
    public String historyOf(long user) {
        String[] found = {null};
        members.readIfLive(user, u -> {
            found[0] = history(u);
            return 0;
        }, 0);
        return found[0];
    }

    private void grow() {
        long[] u = new long[users.length * 2];
        long[] w = new long[users.length * 2];
        for (int i = 0; i < count; i++) {
            u[i] = users[(first + i) % users.length];
            w[i] = words[(first + i) % users.length];
        }
        users = u;
        words = w;
        first = 0;
    }
}
