/*
 * pm_jvm.h - the JVM of a C host (pm_jvm.c): which Java runtime, and starting it. Internal to
 * libplatform_memory.so: platform_memory.c calls it when no JVM runs in the process yet.
 */
#ifndef PM_JVM_H
#define PM_JVM_H

#include <jni.h>
#include <stddef.h>
#include <stdint.h>

#ifndef PM_HIDDEN
#define PM_HIDDEN __attribute__((visibility("hidden")))
#endif

/* What a start found and did, for the statistics and the log=verbose line. */
typedef struct PmJvmStart {
    char runtime[4096];     /* the Java home whose libjvm.so was loaded */
    const char *chosen_by;  /* why that one: "PLATFORM_MEMORY_JAVA_HOME", "bundled" or "JAVA_HOME" */
    char aot_cache[4096];   /* the ahead-of-time cache given to the JVM, "" for none */
    int aot_used;           /* the JVM mapped it (a cache made for another runtime or other jars is not) */
    int64_t create_us;      /* how long JNI_CreateJavaVM took */
} PmJvmStart;

/* The backend a start uses when none is named (Backends.DEFAULT on the Java side). */
#define PM_DEFAULT_BACKEND "arena"

/* Starts a JVM in this process, with the ahead-of-time cache made for backend ("" for the default): NULL
 * with a message in error (size bytes) when it cannot. */
PM_HIDDEN JavaVM *pm_jvm_create(PmJvmStart *info, const char *backend, char *error, size_t size);

/* Microseconds of a monotonic clock. */
PM_HIDDEN int64_t pm_jvm_now_us(void);

#endif
