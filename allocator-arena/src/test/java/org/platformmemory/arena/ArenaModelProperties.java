package org.platformmemory.arena;

import org.platformmemory.api.contract.AllocatorModelProperties;

class ArenaModelProperties extends AllocatorModelProperties {
    @Override
    protected String backendName() {
        return "arena";
    }
}
