/*
 * pm_tags.c - each thread's allocation tags, kept in C so that pushing and popping a tag costs no call
 * into the JVM (and a new thread that pushes a known tag need not attach to it).
 *
 * The facade owns the tags (names to ids, budgets, figures). The shim keeps:
 *   - a cache of names to ids: a name's first push asks the facade (one upcall), later pushes of it, on
 *     any thread, find it here;
 *   - each thread's stack of tag ids and its forbidden flag, whose top is pm_mode, which the caches
 *     charge their blocks to;
 *   - what the facade last heard of this thread's mode (pm_java_mode): before a call that may allocate
 *     in the facade, pm_mode_sync tells it (one upcall, only when the mode changed since).
 * Everything is reset when the layer starts again: ids belong to one facade.
 */
#include "pm_cache.h"

#include <pthread.h>
#include <string.h>

enum { PM_TAG_NAME_BYTES = 64, PM_TAG_INDEX = 512, PM_TAG_DEPTH = 64 };

typedef struct PmTagName {
    char name[PM_TAG_NAME_BYTES];
    uint32_t hash;
} PmTagName;

static PmTagName pm_tag_names[PM_TAGS];                /* by id, written under pm_tag_lock */
static _Atomic uint16_t pm_tag_index[PM_TAG_INDEX];   /* id + 1 by hash (open addressing), 0: empty */
static pthread_mutex_t pm_tag_lock = PTHREAD_MUTEX_INITIALIZER;

PM_HIDDEN _Thread_local uint32_t pm_java_mode __attribute__((tls_model("initial-exec")));
static _Thread_local uint8_t pm_tag_stack[PM_TAG_DEPTH];
static _Thread_local unsigned pm_tag_depth;
static _Thread_local uint64_t pm_tag_epoch; /* the start of the layer this thread's tags belong to */

static uint32_t pm_tag_hash(const char *name) {
    uint32_t h = 2166136261u;
    for (const unsigned char *c = (const unsigned char *) name; *c != 0; c++) {
        h = (h ^ *c) * 16777619u;
    }
    return h;
}

/* The id of a name pushed before since the start, or -1. Names of 64 bytes or more are never cached.
 * Read without the lock: a name is written before the release store that puts its id in the index, and an
 * id's name does not change during a start; the index is at most half full, so a probe ends. Across a
 * restart a thread still pushing a tag of the closed start may read a name being rewritten: every name is
 * shorter than its buffer, whose last byte stays zero, so that comparison can be wrong, never out of bounds. */
static int pm_tag_find(const char *name, uint32_t hash) {
    for (unsigned i = hash & (PM_TAG_INDEX - 1);; i = (i + 1) & (PM_TAG_INDEX - 1)) {
        unsigned entry = atomic_load_explicit(&pm_tag_index[i], memory_order_acquire);
        if (entry == 0) {
            return -1;
        }
        const PmTagName *e = &pm_tag_names[entry - 1];
        if (e->hash == hash && strcmp(e->name, name) == 0) {
            return (int) entry - 1;
        }
    }
}

static void pm_tag_remember(int id, const char *name, uint32_t hash) {
    if (id <= 0 || id >= PM_TAGS || strlen(name) >= PM_TAG_NAME_BYTES) {
        return;
    }
    pthread_mutex_lock(&pm_tag_lock);
    if (pm_tag_find(name, hash) < 0) {
        PmTagName *e = &pm_tag_names[id];
        strcpy(e->name, name);
        e->hash = hash;
        unsigned i = hash & (PM_TAG_INDEX - 1);
        while (atomic_load_explicit(&pm_tag_index[i], memory_order_relaxed) != 0) {
            i = (i + 1) & (PM_TAG_INDEX - 1); /* at most 255 of 512 slots are used: there is room */
        }
        atomic_store_explicit(&pm_tag_index[i], (uint16_t) (id + 1), memory_order_release);
    }
    pthread_mutex_unlock(&pm_tag_lock);
}

PM_HIDDEN void pm_tags_reset(void) {
    pthread_mutex_lock(&pm_tag_lock);
    for (int i = 0; i < PM_TAG_INDEX; i++) {
        atomic_store_explicit(&pm_tag_index[i], 0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&pm_tag_lock);
}

/* Forgets this thread's tags if they belong to an earlier start of the layer. */
static void pm_tags_current_start(void) {
    uint64_t epoch = atomic_load_explicit(&pm_cache.epoch, memory_order_acquire);
    if (pm_tag_epoch != epoch) {
        pm_tag_epoch = epoch;
        pm_tag_depth = 0;
        pm_mode = 0;
        pm_java_mode = 0;
    }
}

static void pm_tags_apply(void) {
    unsigned depth = pm_tag_depth < PM_TAG_DEPTH ? pm_tag_depth : PM_TAG_DEPTH;
    uint32_t tag = depth == 0 ? 0 : pm_tag_stack[depth - 1];
    pm_mode = (pm_mode & ~(uint32_t) 0xFFFF) | tag;
    uint32_t known = atomic_load_explicit(&pm_tags_known, memory_order_relaxed);
    while (tag >= known && !atomic_compare_exchange_weak_explicit(&pm_tags_known, &known, tag + 1,
                                                                  memory_order_release, memory_order_relaxed)) {
    }
}

PM_HIDDEN int pm_tags_push(const PmCalls *calls, const char *name) {
    pm_tags_current_start();
    int id = 0;
    if (name != NULL && name[0] != '\0') {
        uint32_t hash = pm_tag_hash(name);
        id = pm_tag_find(name, hash);
        if (id < 0) {
            id = calls->tag_id(name); /* 0 when every id is taken (the facade reports it) */
            pm_tag_remember(id, name, hash);
        }
    }
    if (id < 0 || id >= PM_TAGS) {
        id = 0;
    }
    if (pm_tag_depth < PM_TAG_DEPTH) {
        pm_tag_stack[pm_tag_depth] = (uint8_t) id;
    }
    pm_tag_depth++;
    pm_tags_apply();
    return id;
}

PM_HIDDEN void pm_tags_pop(void) {
    pm_tags_current_start();
    if (pm_tag_depth > 0) {
        pm_tag_depth--;
    }
    pm_tags_apply();
}

PM_HIDDEN void pm_tags_forbid(int on) {
    pm_tags_current_start();
    pm_mode = on ? pm_mode | PM_MODE_FORBID : pm_mode & ~PM_MODE_FORBID;
}

PM_HIDDEN void pm_mode_sync_slow(const PmCalls *calls) {
    pm_tags_current_start();
    if (pm_mode != pm_java_mode) {
        calls->set_mode((int32_t) pm_mode);
        pm_java_mode = pm_mode;
    }
}
