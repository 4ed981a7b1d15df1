package org.platformmemory.netty;

import org.platformmemory.api.contract.AllocatorModelProperties;

class NettyModelProperties extends AllocatorModelProperties {
    @Override
    protected String backendName() {
        return "netty";
    }
}
