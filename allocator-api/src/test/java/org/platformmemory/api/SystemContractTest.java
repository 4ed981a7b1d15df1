package org.platformmemory.api;

import org.platformmemory.api.contract.AllocatorContractTest;

class SystemContractTest extends AllocatorContractTest {
    @Override
    protected String backendName() {
        return "system";
    }
}
