/**
 * The {@code arena} backend: a general-purpose allocator carving size-classed blocks out of large
 * chunks taken from FFM {@link java.lang.foreign.Arena}s, with a per-thread cache in front.
 */
module org.platformmemory.arena {
    requires org.platformmemory.api;

    provides org.platformmemory.api.AllocatorProvider
        with org.platformmemory.arena.ArenaAllocatorProvider;
}
