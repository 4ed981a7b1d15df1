package org.platformmemory.agrona;

import org.platformmemory.api.contract.AllocatorStressTest;

class AgronaStressTest extends AllocatorStressTest {
    @Override
    protected String backendName() {
        return "agrona";
    }
}
