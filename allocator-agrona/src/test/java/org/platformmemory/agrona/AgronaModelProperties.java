package org.platformmemory.agrona;

import org.platformmemory.api.contract.AllocatorModelProperties;

class AgronaModelProperties extends AllocatorModelProperties {
    @Override
    protected String backendName() {
        return "agrona";
    }
}
