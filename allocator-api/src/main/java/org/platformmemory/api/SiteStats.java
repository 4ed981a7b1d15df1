package org.platformmemory.api;

/**
 * Live blocks allocated at one site, in a {@link Snapshot} (sites are recorded with tracking
 * {@code leaks} or {@code debug}).
 *
 * @param site       {@code file:line}, or a description such as {@code (Java caller)}
 * @param liveBytes  bytes in its live blocks
 * @param liveBlocks its live blocks
 */
public record SiteStats(String site, long liveBytes, long liveBlocks) {
}
