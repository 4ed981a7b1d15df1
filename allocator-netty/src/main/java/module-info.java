/**
 * The {@code netty} backend: blocks carved from a private Netty {@code PooledByteBufAllocator} of direct
 * buffers, served to C through the allocator SPI.
 */
module org.platformmemory.netty {
    requires org.platformmemory.api;
    requires io.netty.buffer;

    provides org.platformmemory.api.AllocatorProvider
        with org.platformmemory.netty.NettyAllocatorProvider;
}
