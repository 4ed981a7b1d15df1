package org.platformmemory.netty;

import org.platformmemory.api.contract.AllocatorStressTest;

class NettyStressTest extends AllocatorStressTest {
    @Override
    protected String backendName() {
        return "netty";
    }
}
