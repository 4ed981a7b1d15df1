package org.platformmemory.agrona;

import org.platformmemory.api.contract.AllocatorContractTest;

class AgronaContractTest extends AllocatorContractTest {
    @Override
    protected String backendName() {
        return "agrona";
    }
}
