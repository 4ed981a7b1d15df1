package org.platformmemory.arena;

import org.platformmemory.api.contract.AllocatorContractTest;

class ArenaContractTest extends AllocatorContractTest {
    @Override
    protected String backendName() {
        return "arena";
    }
}
