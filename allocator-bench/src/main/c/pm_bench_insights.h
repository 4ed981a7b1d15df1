/*
 * The "+insights" subjects of the C-ABI benchmark (e.g. "arena+insights"): the backend before the "+",
 * measured as a game that leaves insights on would run it: every thread that allocates has pushed a tag
 * (Platform_Mem_PushTag, once per thread), and a frame clock thread calls Platform_Mem_FrameMark every
 * 16 ms (60 frames a second). Beside the plain backend in the same run, it gives the cost of insights.
 *
 * Any subject may also carry options after a "/", separated by "&": "arena/sample=512k" or
 * "arena/tracking=leaks&stackDepth=0" is the backend arena started with those options too (the cost of
 * sampling, of leak tracking with and without call stacks, beside the plain backend in the same run).
 */
#ifndef PM_BENCH_INSIGHTS_H
#define PM_BENCH_INSIGHTS_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "platform_memory.h"

#define PM_INSIGHTS_SUFFIX "+insights"

/* Whether name is an insights subject; writes the backend's name to backend either way. */
static inline int pm_insights_subject(const char *name, char *backend, size_t capacity) {
    size_t n = strcspn(name, "/"), s = strlen(PM_INSIGHTS_SUFFIX);
    int on = n > s && strncmp(name + n - s, PM_INSIGHTS_SUFFIX, s) == 0;
    snprintf(backend, capacity, "%.*s", (int) (on ? n - s : n), name);
    return on;
}

/* The options Platform_Mem_Init gets for subject name: "backend=B", then those after a "/" ("&" -> ";"). */
static inline void pm_subject_options(const char *name, const char *backend, char *options, size_t capacity) {
    const char *extra = strchr(name, '/');
    int n = snprintf(options, capacity, "backend=%s%s%s", backend, extra != NULL ? ";" : "", extra != NULL ? extra + 1 : "");
    for (int i = 0; i < n && (size_t) i < capacity; i++) {
        if (options[i] == '&') {
            options[i] = ';';
        }
    }
}

static inline void *pm_insights_frame_clock(void *arg) {
    (void) arg;
    for (;;) {
        struct timespec frame = {0, 16000000L};
        nanosleep(&frame, NULL);
        Platform_Mem_FrameMark();
    }
    return NULL;
}

/* Starts the frame clock (it runs until the process ends), after marking frames at once for a while: as
 * the harness warms every subject's allocation path before it measures, this warms the frame mark's (the
 * JIT compiles its Java side), so that a short run does not measure the compiler at work beside it. */
static inline void pm_insights_start(void) {
    for (int i = 0; i < 3000; i++) {
        Platform_Mem_FrameMark();
    }
    pthread_t clock;
    if (pthread_create(&clock, NULL, pm_insights_frame_clock, NULL) == 0) {
        pthread_detach(clock);
    }
}

#endif
