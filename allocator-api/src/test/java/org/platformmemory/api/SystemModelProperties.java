package org.platformmemory.api;

import org.platformmemory.api.contract.AllocatorModelProperties;

class SystemModelProperties extends AllocatorModelProperties {
    @Override
    protected String backendName() {
        return "system";
    }
}
