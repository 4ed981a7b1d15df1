package org.platformmemory.netty;

import org.platformmemory.api.Allocator;
import org.platformmemory.api.AllocatorConfig;
import org.platformmemory.api.AllocatorProvider;

/** Provides {@code netty}: pooled direct buffers of a private Netty allocator. Settings: {@link NettySettings}. */
public final class NettyAllocatorProvider implements AllocatorProvider {

    static final String NAME = "netty";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "pooled direct buffers of a private Netty PooledByteBufAllocator (arenas, thread caches)";
    }

    @Override
    public Allocator create(AllocatorConfig config) {
        return new NettyAllocator(NettySettings.from(config));
    }
}
