package org.platformmemory.api;

/** How much the facade records about each block ({@code allocator.tracking}). */
public enum Tracking {
    /** Exact statistics only; the fastest mode and the default. */
    COUNTERS,
    /** Statistics plus the allocation site of every live block, for leak reports. */
    LEAKS,
    /**
     * {@code LEAKS} plus guard bytes around each block, checked on free and on demand, and fill
     * patterns: 0xCD in new blocks, 0xDD in freed ones, 0xFD in guards (as MSVC's debug heap).
     */
    DEBUG
}
