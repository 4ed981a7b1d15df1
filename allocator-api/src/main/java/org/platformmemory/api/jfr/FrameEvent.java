package org.platformmemory.api.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** {@code platformmemory.Frame}: one completed frame, committed by {@code Insights.frameMark()}. */
@Name(FrameEvent.NAME)
@Label("Memory Frame")
@Category({"Platform Memory"})
@Description("The allocation figures of one completed frame (from one frame mark to the next)")
@StackTrace(false)
final class FrameEvent extends jdk.jfr.Event {

    static final String NAME = "platformmemory.Frame";

    @Label("Backend")
    @Description("The allocator's backend")
    String backend;

    @Label("Frame")
    @Description("The frame's number: 1 for the frame that ended at the first mark")
    long number;

    @Label("Allocations")
    @Description("Blocks allocated in the frame")
    long allocations;

    @Label("Frees")
    @Description("Blocks freed in the frame")
    long frees;

    @Label("Bytes Allocated")
    @Description("Bytes of the blocks allocated, and bytes reallocations grew blocks by")
    @DataAmount
    long bytesAllocated;

    @Label("Bytes Freed")
    @Description("Bytes of the blocks freed, and bytes reallocations shrank blocks by")
    @DataAmount
    long bytesFreed;

    @Label("Peak Live Bytes")
    @Description("The most bytes live within the frame (an upper bound when several threads or paths allocated)")
    @DataAmount
    long peakLiveBytes;

    @Label("Live Bytes At End")
    @Description("Live bytes when the frame ended")
    @DataAmount
    long liveBytesAtEnd;
}
