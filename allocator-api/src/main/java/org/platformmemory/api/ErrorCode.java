package org.platformmemory.api;

/**
 * What went wrong in a call, as reported to an {@link ErrorHandler}: the caller's mistakes (a double
 * free, a foreign pointer, a bad size...) and the system's failures (no memory, a failing backend), told
 * apart by {@link #isCallerError()}. The numeric codes are the ones the C ABI passes to its error
 * handler ({@code PLATFORM_MEM_ERR_*}); they never change meaning.
 */
public enum ErrorCode {
    /** A block was freed (or reallocated) a second time. */
    DOUBLE_FREE(1),
    /** A pointer this layer never handed out. */
    INVALID_POINTER(2),
    /** A pointer into the middle of a live block instead of its start. */
    INTERIOR_POINTER(3),
    /**
     * A non-zero size on free/realloc that disagrees with the recorded one (the recorded one is used), or
     * a discarded range that is not inside its block (nothing is done).
     */
    SIZE_MISMATCH(4),
    /** A size so large that it overflows once the layer's header is added, such as C's SIZE_MAX. */
    SIZE_OVERFLOW(5),
    /** An alignment that is not a power of two, or too large. */
    BAD_ALIGNMENT(6),
    /** Realloc of a block that was already freed. */
    REALLOC_FREED(7),
    /** The guard bytes around a block were overwritten (debug tracking). */
    GUARD_CORRUPTED(8),
    /** The layer's header before a block was overwritten; the block is kept, not freed. */
    HEADER_CORRUPTED(9),
    /** The backend threw or returned a bad address; the call failed and nothing else was touched. */
    BACKEND_FAILURE(10),
    /** An allocation could not be satisfied (budget or system memory). Not a caller error. */
    ALLOCATION_FAILED(11),
    /** A call after the allocator was closed. */
    CLOSED(12),
    /** A heap id that was never created or is already destroyed. */
    INVALID_HEAP(13),
    /**
     * A freed block was written to while it was held back in the debug quarantine (tracking {@code debug}):
     * found when it leaves the quarantine or by a heap check; the message names its allocation site.
     */
    USE_AFTER_FREE(14),
    /**
     * A tag's live bytes crossed its soft budget ({@link Insights#setTagBudget}): told once per crossing
     * (again only after the tag has gone back under it). A warning for the game, not a caller error.
     */
    BUDGET(15),
    /** An allocation in a region where the calling thread forbade them ({@link Insights#forbidAllocations}); served. */
    FORBIDDEN(16),
    /**
     * The allocation {@code allocator.breakAlloc} names is being made (tracking {@code leaks} or {@code debug}):
     * told to the handler first, then the C ABI stops a debugger there. Not a caller error.
     */
    BREAK_ALLOC(17);

    private final int code;

    ErrorCode(int code) {
        this.code = code;
    }

    /** The error with the numeric {@code code}, or null for a code that is none of these. */
    public static ErrorCode of(int code) {
        for (ErrorCode e : values()) {
            if (e.code == code) {
                return e;
            }
        }
        return null;
    }

    /** The stable numeric code used by the C ABI. */
    public int code() {
        return code;
    }

    /** Whether this counts as a caller error in the statistics (failures of the system do not). */
    public boolean isCallerError() {
        return this != ALLOCATION_FAILED && this != BACKEND_FAILURE && this != BUDGET && this != BREAK_ALLOC;
    }
}
