package org.platformmemory.arena;

import org.platformmemory.api.contract.AllocatorStressTest;

class ArenaStressTest extends AllocatorStressTest {
    @Override
    protected String backendName() {
        return "arena";
    }
}
