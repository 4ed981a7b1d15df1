package org.platformmemory.api.internal;

import org.platformmemory.api.ErrorCode;

import static org.platformmemory.api.internal.ErrorReporter.hex;

/**
 * Says what is wrong with a pointer or size handed to free or reallocate, and reports it: the address
 * points inside a live block ({@link ErrorCode#INTERIOR_POINTER}), was freed already
 * ({@link ErrorCode#DOUBLE_FREE}, {@link ErrorCode#REALLOC_FREED}) or was never ours
 * ({@link ErrorCode#INVALID_POINTER}); or the size disagrees with the block's ({@link ErrorCode#SIZE_MISMATCH}).
 *
 * <p>Every answer takes bounded time, whatever the number of live blocks: the live-block set finds the
 * block around an address without walking them ({@link LiveBlockSet#blockAround}). A free is told as a
 * double free when the address was freed a moment ago, is held in the debug quarantine, or still carries
 * the mark a free leaves in its header ({@link BlockHeader#freedAt}, read through a checked read that
 * cannot fault, so an unmapped or protected pointer is diagnosed without a crash).
 */
public final class PointerDiagnosis {

    private final LiveBlockSet blocks;
    private final BlockHeader header;
    private final ErrorReporter errors;
    private final Quarantine quarantine;

    public PointerDiagnosis(LiveBlockSet blocks, BlockHeader header, ErrorReporter errors, Quarantine quarantine) {
        this.blocks = blocks;
        this.header = header;
        this.errors = errors;
        this.quarantine = quarantine;
    }

    /**
     * Whether the facade can say something about {@code address}, which is not a live block: it lies
     * inside one, or a block there was freed. False: the facade knows nothing of it.
     */
    public boolean knows(long address) {
        return freed(address) || blocks.blockAround(address) != 0;
    }

    private boolean freed(long address) {
        return blocks.recentlyRemoved(address) || quarantine.holds(address) || header.freedAt(address);
    }

    /** Reports {@code address}, which {@code op} was given and which is not a live block; touches nothing. */
    public void reject(long address, String op, boolean realloc) {
        // inside a live block first: a stale pointer whose memory now belongs to another block is
        // reported as pointing into that block, whatever it was before
        long owner = blocks.blockAround(address);
        long size = owner == 0 ? 0 : blocks.readIfLive(owner, header::size, 0);
        boolean freedBefore = freed(address);
        if (owner != 0 && size > 0) {
            errors.report(ErrorCode.INTERIOR_POINTER, op + "(" + hex(address) + "): points " + (address - owner)
                + " bytes into the live block " + hex(owner) + " (" + size + " bytes), not at its start"
                + (freedBefore ? " (a block freed earlier began there)" : "") + "; nothing was done", address);
        } else if (freedBefore) {
            ErrorCode error = realloc ? ErrorCode.REALLOC_FREED : ErrorCode.DOUBLE_FREE;
            String history = quarantine.historyOf(address);
            errors.report(error, op + "(" + hex(address) + "): the block was already freed"
                + (history != null ? " (it is held in the debug quarantine)" : "") + "; nothing was done"
                + (history != null ? "; " + history : ""), address);
        } else {
            errors.report(ErrorCode.INVALID_POINTER, op + "(" + hex(address)
                + "): not a block this allocator handed out (or freed long ago); nothing was done", address);
        }
    }

    /**
     * Reports a size given to free ({@code realloc} false) or reallocate that is not the block's recorded
     * one ({@link ErrorCode#SIZE_MISMATCH}); the call goes on with the recorded size.
     */
    public void sizeMismatch(long address, long given, long recorded, boolean realloc) {
        String call = realloc ? "reallocate(" + hex(address) + ", " + Long.toUnsignedString(given) + ", ...)"
            : "free(" + hex(address) + ", " + Long.toUnsignedString(given) + ")";
        errors.reportHeld(ErrorCode.SIZE_MISMATCH, call + ": the block was allocated with " + recorded + " bytes; "
            + (realloc ? "used " : "freed it as ") + recorded, address);
    }
}
