package org.platformmemory.api;

/**
 * What the layer writes about itself ({@code allocator.log}): to {@code System.Logger}
 * ({@code org.platformmemory}) for a Java host, as one {@code platform-memory:} line on stderr for a
 * C host. The error handler and the counters see every error whatever the level.
 */
public enum LogLevel {
    /** Nothing. */
    QUIET,
    /** Every error (the default): caller errors, failed allocations, backend and internal failures. */
    ERRORS,
    /** Errors, and what is worth knowing besides (such as blocks still live when the allocator closes). */
    VERBOSE
}
