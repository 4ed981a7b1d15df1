package org.platformmemory.api;

/**
 * Live blocks allocated at one site, in a {@link Snapshot}: every block's site with tracking {@code leaks}
 * or {@code debug}; with {@code allocator.sample} in {@code counters}, estimates scaled up from the sampled
 * blocks ({@code estimate} true).
 *
 * @param site       {@code file:line}, a call stack (its frames joined by {@code " <- "}, the caller's
 *                   first), or a description such as {@code (Java caller)}
 * @param liveBytes  bytes in its live blocks (an estimate when {@code estimate})
 * @param liveBlocks its live blocks (an estimate when {@code estimate})
 * @param estimate   whether the figures are scaled up from samples
 */
public record SiteStats(String site, long liveBytes, long liveBlocks, boolean estimate) {

    /** Exact figures of one site. */
    public SiteStats(String site, long liveBytes, long liveBlocks) {
        this(site, liveBytes, liveBlocks, false);
    }
}
