package org.platformmemory.api.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.MemoryAddress;
import jdk.jfr.Name;

/** {@code platformmemory.Error}: one error the allocator reported (as its error handler gets it). */
@Name(ErrorEvent.NAME)
@Label("Memory Error")
@Category({"Platform Memory"})
@Description("An error the platform-memory allocator reported: a double free, a foreign pointer, a budget crossed...")
final class ErrorEvent extends jdk.jfr.Event {

    static final String NAME = "platformmemory.Error";

    @Label("Code")
    @Description("The error's name, e.g. DOUBLE_FREE")
    String code;

    @Label("Message")
    @Description("The message, as the error handler gets it")
    String message;

    @Label("Address")
    @Description("The pointer involved, or 0")
    @MemoryAddress
    long address;
}
