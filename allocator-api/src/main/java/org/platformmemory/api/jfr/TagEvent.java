package org.platformmemory.api.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;

/** {@code platformmemory.Tag}: one allocation tag of one open allocator, every period (1 s unless the settings say otherwise). */
@Name(TagEvent.NAME)
@Label("Memory Tag")
@Category({"Platform Memory"})
@Description("The figures of one allocation tag of one open platform-memory allocator")
@Period("1 s")
@Enabled(true)
@StackTrace(false)
final class TagEvent extends jdk.jfr.Event {

    static final String NAME = "platformmemory.Tag";

    @Label("Allocator")
    @Description("Which open allocator (numbered from 1 in the order they were opened)")
    long allocator;

    @Label("Backend")
    @Description("The allocator's backend")
    String backend;

    @Label("Tag Id")
    @Description("The tag's id; 0 is untagged")
    int tagId;

    @Label("Tag")
    @Description("The tag's name")
    String tag;

    @Label("Live Bytes")
    @Description("Bytes in live blocks charged to the tag")
    @DataAmount
    long liveBytes;

    @Label("Live Blocks")
    @Description("Live blocks charged to the tag")
    long liveBlocks;

    @Label("Peak Bytes")
    @Description("The most live bytes the tag was seen to hold")
    @DataAmount
    long peakBytes;

    @Label("Allocations")
    @Description("Blocks allocated under the tag since the allocator opened")
    long allocations;

    @Label("Frees")
    @Description("Blocks of the tag freed since the allocator opened")
    long frees;

    @Label("Soft Budget")
    @Description("Bytes above which a crossing is reported as BUDGET; 0: none")
    @DataAmount
    long softBudget;

    @Label("Hard Budget")
    @Description("Bytes an allocation may not take the tag past; 0: none")
    @DataAmount
    long hardBudget;
}
