package org.platformmemory.api;

import org.platformmemory.api.contract.AllocatorStressTest;

class SystemStressTest extends AllocatorStressTest {
    @Override
    protected String backendName() {
        return "system";
    }
}
