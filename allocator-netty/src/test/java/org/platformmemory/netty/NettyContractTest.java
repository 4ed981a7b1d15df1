package org.platformmemory.netty;

import org.platformmemory.api.contract.AllocatorContractTest;

class NettyContractTest extends AllocatorContractTest {
    @Override
    protected String backendName() {
        return "netty";
    }
}
