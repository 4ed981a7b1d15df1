/*
 * pm_stacks.c - the call stacks of allocations: capture, a table that keeps each distinct stack once, and
 * their names for reports (pm_stacks.h).
 *
 * Capture unwinds from the unwind tables (.eh_frame), so code built without frame pointers is unwound too:
 * libunwind's unw_backtrace caches what it learnt of each return address (about 0.1 us for 16 frames),
 * where glibc's backtrace() reads the tables again every time (about 1.4 us). libunwind is loaded with
 * dlopen by pm_stacks_open, so a game that never turns stacks on never loads it, and the library does not
 * link it. The frames of this shared object (the layer's entry and pm_stack_capture itself) are dropped.
 *
 * The table, all in memory mapped here (the game's malloc may be routed to this very layer):
 *   - records (hash, file key and copy, line, frames), carved from 1 MiB chunks, never changed once made;
 *   - the records by id, one array reserved for PM_STACKS_MAX ids (pages become resident as ids grow);
 *   - an open addressing index, each slot (high 32 bits of the hash << 32 | id), at most half full.
 * A lookup loads the index and probes it without a lock: a slot is published with one release store after
 * its record, so a reader that sees the slot sees the record. A new stack is added under the mutex, after a
 * second lookup in the current index (a reader may have probed an older one); an index that would pass half
 * full is rebuilt twice as large and published with one release store. Replaced indexes are kept, never
 * written again, for readers still probing them: together they take less than the current one.
 *
 * Names (pm_stack_describe) come from elfutils' libdw, loaded with dlopen at the first call and called
 * through pointers typed from its headers, so the library does not link it: the symbol tables (static
 * functions too, which dladdr cannot see), the line tables, and the inlined calls (the scopes around the
 * address, as eu-addr2line -i). Without libdw, dladdr's exported symbols and module+offset.
 */
#define _GNU_SOURCE
#include "pm_stacks.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The libraries loaded at run time; the tests build a copy with names that do not exist, to run the
 * fallbacks (glibc's backtrace(), dladdr). */
#ifndef PM_STACKS_UNWIND_LIB
#define PM_STACKS_UNWIND_LIB "libunwind.so.8"
#endif
#ifndef PM_STACKS_DW_LIB
#define PM_STACKS_DW_LIB "libdw.so.1"
#endif

enum {
    PM_STACK_EXTRA_FIRST = 4,  /* frames asked for beyond the depth at first: this object's own frames */
    PM_STACK_EXTRA_MAX = 16,   /* at most (more frames of this object at once take depth from the game's) */
    PM_INDEX_FIRST = 4096,     /* slots of the first index (32 KiB) */
    PM_FILE_MAX = 1023,        /* bytes of a file name kept with a stack */
    PM_FILE_CACHE = 64         /* file names copied once, remembered by their pointer */
};
#define PM_CHUNK ((size_t) 1 << 20)

typedef int (*PmUnwind)(void **buffer, int size);

typedef struct PmStack {
    uint64_t hash;
    const char *file_key; /* the pointer pm_stack_capture was given: stacks are told apart by it */
    const char *file;     /* a copy of its text, in the table's memory (NULL for none) */
    int32_t line;
    uint32_t frames;
    uintptr_t pc[];       /* return addresses, innermost first */
} PmStack;

typedef struct PmIndex {
    size_t mask;                /* slots - 1 */
    struct PmIndex *older;      /* the index this one replaced */
    _Atomic uint64_t slot[];    /* hash >> 32 << 32 | id; 0: empty */
} PmIndex;

static struct {
    _Atomic(PmUnwind) unwind;      /* NULL until pm_stacks_open */
    atomic_int depth;              /* frames kept per stack */
    atomic_int extra;              /* frames asked for beyond depth; only grows */
    uintptr_t self_lo, self_len;   /* this object's mapped range: frames in it are dropped */
    _Atomic(PmStack *) *records;   /* by id, 1..PM_STACKS_MAX - 1 */
    _Atomic(PmIndex *) index;
    atomic_uint count;             /* ids handed out: the last id */
    _Atomic uint64_t bytes;        /* mapped for records and indexes, and the resident part of records */
    pthread_mutex_t lock;          /* opening, adding stacks; the fields below */
    int with_libunwind;
    char *chunk;                   /* where records are carved from */
    size_t chunk_left;
    const char *file_keys[PM_FILE_CACHE]; /* file names already copied: key -> copy */
    const char *file_copies[PM_FILE_CACHE];
} pm_st = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Set while this thread captures: an allocation made from inside the unwinder gets no stack. */
static _Thread_local int pm_capturing __attribute__((tls_model("initial-exec")));

/* ---- Opening ----------------------------------------------------------------------------------------- */

/* Anonymous memory counted against PM_STACKS_MAX_BYTES (counted = 0: reserved, counted as it is used). */
static void *pm_map(size_t size, int counted) {
    if (counted && atomic_load_explicit(&pm_st.bytes, memory_order_relaxed) + size > PM_STACKS_MAX_BYTES) {
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    if (counted) {
        atomic_fetch_add_explicit(&pm_st.bytes, size, memory_order_relaxed);
    }
    return p;
}

/* dl_iterate_phdr's callback: the object whose segments hold data (an address of this file) is this one. */
static int pm_find_self(struct dl_phdr_info *info, size_t size, void *data) {
    (void) size;
    uintptr_t here = (uintptr_t) data, lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            uintptr_t start = info->dlpi_addr + ph->p_vaddr;
            lo = start < lo ? start : lo;
            hi = start + ph->p_memsz > hi ? start + ph->p_memsz : hi;
        }
    }
    if (here < lo || here >= hi) {
        return 0;
    }
    pm_st.self_lo = lo;
    pm_st.self_len = hi - lo;
    return 1;
}

/* glibc's backtrace(), looked up in libc itself: a libunwind loaded by the game exports one of the same name,
 * which a plain call could bind to. */
static PmUnwind pm_glibc_backtrace(void) {
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    PmUnwind found = libc != NULL ? (PmUnwind) dlsym(libc, "backtrace") : NULL;
    if (libc != NULL) {
        dlclose(libc);
    }
    return found;
}

PM_HIDDEN int pm_stacks_open(int depth, int native_host, char *why, size_t size) {
    int asked = depth;
    depth = depth < 1 ? 1 : depth > PM_STACK_DEPTH_MAX ? PM_STACK_DEPTH_MAX : depth;
    char reason[256] = "";
    pthread_mutex_lock(&pm_st.lock);
    if (pm_st.records == NULL) {
        dl_iterate_phdr(pm_find_self, (void *) (uintptr_t) &pm_st);
        size_t records_size = (size_t) PM_STACKS_MAX * sizeof(PmStack *);
        size_t index_size = sizeof(PmIndex) + PM_INDEX_FIRST * sizeof(uint64_t);
        void *records = pm_map(records_size, 0);
        PmIndex *index = pm_map(index_size, 1);
        if (records == NULL || index == NULL) {
            int error = errno;
            if (records != NULL) {
                munmap(records, records_size);
            }
            if (index != NULL) {
                munmap(index, index_size);
                atomic_fetch_sub_explicit(&pm_st.bytes, index_size, memory_order_relaxed);
            }
            pthread_mutex_unlock(&pm_st.lock);
            snprintf(why, size, "call stacks: no memory for their table (mmap: %s); none are recorded",
                     strerror(error));
            return 0;
        }
        index->mask = PM_INDEX_FIRST - 1;
        pm_st.records = records;
        atomic_store_explicit(&pm_st.index, index, memory_order_release);
        atomic_store_explicit(&pm_st.extra, PM_STACK_EXTRA_FIRST, memory_order_relaxed);
    }
    if (atomic_load_explicit(&pm_st.unwind, memory_order_relaxed) == NULL) {
        PmUnwind unwind = NULL;
        void *libunwind = native_host ? dlopen(PM_STACKS_UNWIND_LIB, RTLD_NOW | RTLD_LOCAL) : NULL;
        if (!native_host) {
            /* a Java host's threads may call in from compiled Java code, which has no unwind tables: libunwind
             * would go on from there by frame pointers HotSpot does not keep; backtrace() stops there */
            snprintf(reason, sizeof reason, "a Java host, whose threads may come from compiled Java code");
        } else if (libunwind == NULL) {
            snprintf(reason, sizeof reason, "%s", dlerror());
        } else if ((unwind = (PmUnwind) dlsym(libunwind, "unw_backtrace")) == NULL) {
            snprintf(reason, sizeof reason, "%s has no unw_backtrace", PM_STACKS_UNWIND_LIB);
        }
        void *probe[4];
        /* the first call sets up what later calls reuse (glibc's loads libgcc_s, which allocates) */
        if (unwind != NULL && unwind(probe, 4) <= 0) {
            snprintf(reason, sizeof reason, "%s's unw_backtrace found no frames", PM_STACKS_UNWIND_LIB);
            unwind = NULL;
        }
        pm_st.with_libunwind = unwind != NULL;
        if (unwind == NULL && (unwind = pm_glibc_backtrace()) != NULL) {
            unwind(probe, 4);
        }
        if (unwind == NULL) {
            pthread_mutex_unlock(&pm_st.lock);
            snprintf(why, size, "call stacks: no unwinder (%s, and libc.so.6 has no backtrace); none are recorded",
                     reason);
            return 0;
        }
        atomic_store_explicit(&pm_st.unwind, unwind, memory_order_release);
    }
    atomic_store_explicit(&pm_st.depth, depth, memory_order_relaxed);
    int with_libunwind = pm_st.with_libunwind;
    pthread_mutex_unlock(&pm_st.lock);
    char clamped[48] = "";
    if (asked != depth) {
        snprintf(clamped, sizeof clamped, " (%d asked)", asked);
    }
    if (with_libunwind) {
        snprintf(why, size, "call stacks: %d frames%s, unwound by libunwind's unw_backtrace (%s)", depth, clamped,
                 PM_STACKS_UNWIND_LIB);
    } else if (reason[0] != '\0') {
        snprintf(why, size, "call stacks: %d frames%s, unwound by glibc's backtrace(), about 10x slower: %s",
                 depth, clamped, reason);
    } else {
        snprintf(why, size, "call stacks: %d frames%s, unwound by glibc's backtrace()", depth, clamped);
    }
    return with_libunwind;
}

/* ---- The table -------------------------------------------------------------------------------------- */

static uint64_t pm_hash(const uintptr_t *pc, int n, const char *file, int line) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t) (uintptr_t) file ^ ((uint64_t) (uint32_t) line << 40);
    for (int i = 0; i < n; i++) {
        h = (h ^ pc[i]) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    h ^= (uint64_t) n;
    h *= 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

static int pm_same(const PmStack *s, uint64_t hash, const uintptr_t *pc, int n, const char *file, int line) {
    return s->hash == hash && s->frames == (uint32_t) n && s->file_key == file && s->line == line
        && memcmp(s->pc, pc, (size_t) n * sizeof *pc) == 0;
}

/* The id of the stack in index, or 0. Safe while another thread adds to the index. */
static uint32_t pm_lookup(const PmIndex *index, uint64_t hash, const uintptr_t *pc, int n, const char *file,
                          int line) {
    uint64_t tag = hash >> 32 << 32;
    for (size_t i = (size_t) hash & index->mask, probes = 0; probes <= index->mask;
         i = (i + 1) & index->mask, probes++) {
        uint64_t slot = atomic_load_explicit(&index->slot[i], memory_order_acquire);
        if (slot == 0) {
            return 0;
        }
        if ((slot & ~(uint64_t) UINT32_MAX) == tag) {
            uint32_t id = (uint32_t) slot;
            const PmStack *s = atomic_load_explicit(&pm_st.records[id], memory_order_acquire);
            if (pm_same(s, hash, pc, n, file, line)) {
                return id;
            }
        }
    }
    return 0;
}

/* Puts id in an empty slot of index (under the lock). */
static void pm_place(PmIndex *index, uint32_t id, uint64_t hash) {
    size_t i = (size_t) hash & index->mask;
    while (atomic_load_explicit(&index->slot[i], memory_order_relaxed) != 0) {
        i = (i + 1) & index->mask;
    }
    atomic_store_explicit(&index->slot[i], (hash >> 32 << 32) | id, memory_order_release);
}

/* A copy of file's text in the table's memory, made once per pointer (under the lock); NULL when full. */
static const char *pm_file_copy(const char *file, int *full) {
    if (file == NULL) {
        return NULL;
    }
    size_t k = ((uintptr_t) file >> 3) % PM_FILE_CACHE;
    if (pm_st.file_keys[k] == file) {
        return pm_st.file_copies[k];
    }
    size_t len = strnlen(file, PM_FILE_MAX), take = (len + 8) & ~(size_t) 7; /* records after it stay aligned */
    if (pm_st.chunk_left < take) {
        char *chunk = pm_map(PM_CHUNK, 1);
        if (chunk == NULL) {
            *full = 1;
            return NULL;
        }
        pm_st.chunk = chunk;
        pm_st.chunk_left = PM_CHUNK;
    }
    char *copy = pm_st.chunk;
    memcpy(copy, file, len);
    copy[len] = '\0';
    pm_st.chunk += take;
    pm_st.chunk_left -= take;
    pm_st.file_keys[k] = file;
    pm_st.file_copies[k] = copy;
    return copy;
}

/* Adds a stack the lookup without the lock did not find: found again under it, or recorded. 0: full. */
static uint32_t pm_add(uint64_t hash, const uintptr_t *pc, int n, const char *file, int line) {
    pthread_mutex_lock(&pm_st.lock);
    PmIndex *index = atomic_load_explicit(&pm_st.index, memory_order_relaxed);
    uint32_t id = pm_lookup(index, hash, pc, n, file, line);
    uint32_t count = atomic_load_explicit(&pm_st.count, memory_order_relaxed);
    if (id != 0 || count + 1 >= PM_STACKS_MAX) {
        pthread_mutex_unlock(&pm_st.lock);
        return id;
    }
    if ((size_t) (count + 1) * 2 > index->mask + 1) {
        size_t slots = (index->mask + 1) * 2;
        PmIndex *bigger = pm_map(sizeof(PmIndex) + slots * sizeof(uint64_t), 1);
        if (bigger == NULL) {
            pthread_mutex_unlock(&pm_st.lock);
            return 0;
        }
        bigger->mask = slots - 1;
        bigger->older = index;
        for (uint32_t k = 1; k <= count; k++) {
            pm_place(bigger, k, atomic_load_explicit(&pm_st.records[k], memory_order_relaxed)->hash);
        }
        atomic_store_explicit(&pm_st.index, bigger, memory_order_release);
        index = bigger;
    }
    int full = 0;
    const char *copy = pm_file_copy(file, &full);
    size_t need = (sizeof(PmStack) + (size_t) n * sizeof(uintptr_t) + 7) & ~(size_t) 7;
    if (!full && pm_st.chunk_left < need) {
        char *chunk = pm_map(PM_CHUNK, 1);
        full = chunk == NULL;
        if (!full) {
            pm_st.chunk = chunk;
            pm_st.chunk_left = PM_CHUNK;
        }
    }
    if (full) {
        pthread_mutex_unlock(&pm_st.lock);
        return 0;
    }
    PmStack *s = (PmStack *) (void *) pm_st.chunk;
    pm_st.chunk += need;
    pm_st.chunk_left -= need;
    s->hash = hash;
    s->file_key = file;
    s->file = copy;
    s->line = line;
    s->frames = (uint32_t) n;
    memcpy(s->pc, pc, (size_t) n * sizeof *pc);
    id = count + 1;
    /* the records array is reserved whole; count the page that id's entry starts to use */
    if ((id * sizeof(PmStack *)) % 4096 == 0 || id == 1) {
        atomic_fetch_add_explicit(&pm_st.bytes, 4096, memory_order_relaxed);
    }
    atomic_store_explicit(&pm_st.records[id], s, memory_order_release);
    atomic_store_explicit(&pm_st.count, id, memory_order_release);
    pm_place(index, id, hash);
    pthread_mutex_unlock(&pm_st.lock);
    return id;
}

/* Moves the first keep frames outside this object to the front of raw; returns how many there were. */
static int pm_keep(void **raw, int n, int keep) {
    int kept = 0;
    for (int i = 0; i < n && kept < keep; i++) {
        if ((uintptr_t) raw[i] - pm_st.self_lo >= pm_st.self_len) {
            raw[kept++] = raw[i];
        }
    }
    return kept;
}

PM_HIDDEN int32_t pm_stack_capture(const char *file, int line) {
    PmUnwind unwind = atomic_load_explicit(&pm_st.unwind, memory_order_acquire);
    if (unwind == NULL || pm_capturing) {
        return 0;
    }
    pm_capturing = 1;
    int depth = atomic_load_explicit(&pm_st.depth, memory_order_relaxed);
    int extra = atomic_load_explicit(&pm_st.extra, memory_order_relaxed);
    void *raw[PM_STACK_DEPTH_MAX + PM_STACK_EXTRA_MAX];
    int n = unwind(raw, depth + extra);
    int kept = pm_keep(raw, n, depth);
    while (n == depth + extra && kept < depth && extra < PM_STACK_EXTRA_MAX) {
        /* the buffer was full and this object's frames took room the game's needed: ask for more, now and
         * from now on (so a stack is always its first `depth` frames, not fewer on some captures) */
        extra = extra + depth - kept < PM_STACK_EXTRA_MAX ? extra + depth - kept : PM_STACK_EXTRA_MAX;
        int seen = atomic_load_explicit(&pm_st.extra, memory_order_relaxed);
        while (seen < extra
               && !atomic_compare_exchange_weak_explicit(&pm_st.extra, &seen, extra, memory_order_relaxed,
                                                         memory_order_relaxed)) {
        }
        n = unwind(raw, depth + extra);
        kept = pm_keep(raw, n, depth);
    }
    const uintptr_t *pc = (const uintptr_t *) (void *) raw;
    uint64_t hash = pm_hash(pc, kept, file, line);
    uint32_t id = pm_lookup(atomic_load_explicit(&pm_st.index, memory_order_acquire), hash, pc, kept, file, line);
    if (id == 0) {
        id = pm_add(hash, pc, kept, file, line);
    }
    pm_capturing = 0;
    return (int32_t) id;
}

/* The record of id, or NULL for an id never handed out. */
static const PmStack *pm_record(int32_t id) {
    if (id <= 0 || (uint32_t) id > atomic_load_explicit(&pm_st.count, memory_order_acquire)) {
        return NULL;
    }
    return atomic_load_explicit(&pm_st.records[id], memory_order_acquire);
}

PM_HIDDEN void pm_stack_site(int32_t id, const char **file, int *line) {
    const PmStack *s = pm_record(id);
    *file = s != NULL ? s->file : NULL;
    *line = s != NULL ? s->line : 0;
}

PM_HIDDEN void pm_stacks_usage(uint64_t *stacks, uint64_t *bytes) {
    *stacks = atomic_load_explicit(&pm_st.count, memory_order_acquire);
    *bytes = atomic_load_explicit(&pm_st.bytes, memory_order_relaxed);
}

/* ---- Names ------------------------------------------------------------------------------------------ */

/* The libdw functions used, called through pointers typed from its headers. */
#define PM_DW_FUNCTIONS(X)                                                                                \
    X(dwfl_begin) X(dwfl_linux_proc_find_elf) X(dwfl_standard_find_debuginfo) X(dwfl_linux_proc_report)   \
    X(dwfl_report_begin) X(dwfl_report_end) X(dwfl_addrmodule) X(dwfl_module_info) X(dwfl_module_getelf) \
    X(dwfl_module_addrinfo) X(dwfl_module_getsrc) X(dwfl_lineinfo) X(dwfl_module_addrdie)                 \
    X(dwarf_getscopes) X(dwarf_getscopes_die) X(dwarf_tag) X(dwarf_diename) X(dwarf_attr)                 \
    X(dwarf_attr_integrate) X(dwarf_formstring) X(dwarf_formudata) X(dwarf_getsrcfiles) X(dwarf_filesrc)  \
    X(dwarf_decl_file)

#define PM_DW_POINTER(name) __typeof__(name) *name;
static struct {
    PM_DW_FUNCTIONS(PM_DW_POINTER)
} pm_dw;

enum { PM_LINES = 256, PM_LINE = 1024, PM_INLINED_MAX = 32, PM_NAMED_SLOTS = 1 << 16 };
#define PM_NAMED_POOL ((size_t) 16 << 20)

/* The lines made for one return address, kept for the next description that has it: naming an address with
 * libdw took about 80 us here (its symbol search reads through the module's symbol table, and the scopes walk
 * the DIEs of the compilation unit), and the stacks of a report share most of their frames. A module unloaded
 * and another loaded at the same address would keep the first one's names. */
typedef struct PmNamed {
    uintptr_t pc;     /* 0: an empty slot */
    uint32_t text;    /* where its lines start in the pool: each a wrapper flag ('0', '1'), the line, a NUL */
    uint32_t lines;
} PmNamed;

static struct {
    pthread_mutex_t lock;         /* every describe; the fields below */
    int opened;                   /* libdw looked for (and the demangler) */
    Dwfl *dwfl;                   /* NULL: names from dladdr */
    Dwfl_Callbacks callbacks;
    char *debuginfo_path;
    char *(*demangle)(const char *mangled, char *out, size_t *length, int *status);
    int demangler_loaded;         /* libstdc++ looked for */
    char lines[PM_LINES][PM_LINE];  /* the description being made */
    uint8_t wrapper[PM_LINES];
    PmNamed *named;                 /* PM_NAMED_SLOTS, open addressing by address; filled to 3/4 at most */
    size_t named_count;
    char *pool;                     /* the text of the lines named, PM_NAMED_POOL bytes reserved */
    size_t pool_used;
} pm_nm = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Loads libdw and reports the process's modules to it; on any failure the names come from dladdr. */
static void pm_names_open(void) {
    pm_nm.opened = 1;
    pm_nm.demangle = (char *(*)(const char *, char *, size_t *, int *)) dlsym(RTLD_DEFAULT, "__cxa_demangle");
    void *libdw = dlopen(PM_STACKS_DW_LIB, RTLD_NOW | RTLD_LOCAL);
    if (libdw == NULL) {
        return;
    }
#define PM_DW_LOAD(name)                                                      \
    if ((pm_dw.name = (__typeof__(name) *) dlsym(libdw, #name)) == NULL) {    \
        return;                                                               \
    }
    PM_DW_FUNCTIONS(PM_DW_LOAD)
#undef PM_DW_LOAD
    pm_nm.callbacks.find_elf = pm_dw.dwfl_linux_proc_find_elf;
    pm_nm.callbacks.find_debuginfo = pm_dw.dwfl_standard_find_debuginfo;
    pm_nm.callbacks.debuginfo_path = &pm_nm.debuginfo_path;
    Dwfl *dwfl = pm_dw.dwfl_begin(&pm_nm.callbacks);
    if (dwfl == NULL) {
        return;
    }
    pm_dw.dwfl_report_begin(dwfl);
    int failed = pm_dw.dwfl_linux_proc_report(dwfl, getpid());
    if (pm_dw.dwfl_report_end(dwfl, NULL, NULL) != 0 || failed != 0) {
        return; /* a Dwfl is not ended here: it may hold half-reported modules; it is small */
    }
    pm_nm.dwfl = dwfl;
}

/* The module that holds address pc. dwfl_addrmodule also answers for an address in the gap after a module (it
 * gives the module before the gap), so the module's own range is checked too. */
static Dwfl_Module *pm_module_at(Dwarf_Addr pc) {
    Dwfl_Module *mod = pm_dw.dwfl_addrmodule(pm_nm.dwfl, pc);
    Dwarf_Addr start = 0, end = 0;
    if (mod != NULL) {
        pm_dw.dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
    }
    return mod != NULL && pc >= start && pc < end ? mod : NULL;
}

/* The module of address pc, reporting the modules again once per describe when none holds it (a shared
 * object loaded since the last report); modules reported before keep what was read of them. */
static Dwfl_Module *pm_module_of(Dwarf_Addr pc, int *reported) {
    Dwfl_Module *mod = pm_module_at(pc);
    if (mod == NULL && !*reported) {
        *reported = 1;
        pm_dw.dwfl_report_begin(pm_nm.dwfl);
        pm_dw.dwfl_linux_proc_report(pm_nm.dwfl, getpid());
        pm_dw.dwfl_report_end(pm_nm.dwfl, NULL, NULL);
        mod = pm_module_at(pc);
    }
    return mod;
}

static const char *pm_base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* A source file of the layer's headers: what the compat wrappers inline into the game. */
static int pm_layer_header(const char *file) {
    if (file == NULL) {
        return 0;
    }
    const char *name = pm_base_name(file);
    return strcmp(name, "platform_memory.h") == 0 || strcmp(name, "wwmem.h") == 0
        || strcmp(name, "memory_wrapper.h") == 0;
}

/* A function of the compat headers, by name (include/compat/wwmem.h, include/compat/memory_wrapper.h;
 * platform_memory.h has macros only). */
static int pm_wrapper_name(const char *name) {
    static const char *const names[] = {
        "Alloc", "Free", "Resize_Alloc", "Ram_Free", "Heap_Size", "Total_Ram_Free", "Mem_Copy", "pm_ww_alloc",
        "pm_memory_error", "pm_update_records", "pm_update_records_sometimes", "VirtualAlloc", "VirtualFree",
        "VirtualLock", "VirtualUnlock", "GetProcessHeap", "HeapCreate", "HeapDestroy", "HeapAlloc", "HeapSize",
        "HeapReAlloc", "HeapFree", "pm_is_moveable", "pm_record", "GlobalAlloc", "GlobalLock", "GlobalUnlock",
        "GlobalSize", "GlobalHandle", "GlobalReAlloc", "GlobalFree", "LocalAlloc", "LocalFree", "LocalLock",
        "LocalUnlock", "pm_clamp_size", "pm_read_kb", "GlobalMemoryStatus"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* operator new, new[], delete and delete[], every form (mangled names). */
static int pm_operator_new_delete(const char *name) {
    return strncmp(name, "_Znw", 4) == 0 || strncmp(name, "_Zna", 4) == 0 || strncmp(name, "_Zdl", 4) == 0
        || strncmp(name, "_Zda", 4) == 0;
}

/* One line of a description: what is known of one frame, or of one inlined call in it. */
typedef struct PmPlace {
    const char *function;   /* mangled or plain; NULL: unknown */
    const char *file;       /* NULL: no line information */
    int line;
    int decl_in_header;     /* the function is declared in one of the layer's headers */
} PmPlace;

/* Appends text to a line, cut at PM_LINE - 1 bytes. */
static void pm_put(char *line, size_t *length, const char *text) {
    size_t n = strlen(text);
    n = n < PM_LINE - 1 - *length ? n : PM_LINE - 1 - *length;
    memcpy(line + *length, text, n);
    *length += n;
    line[*length] = '\0';
}

/* Appends function's name, demangled when it is a C++ name. */
static void pm_put_function(char *line, size_t *length, const char *function) {
    if (function[0] == '_' && function[1] == 'Z') {
        if (pm_nm.demangle == NULL && !pm_nm.demangler_loaded) {
            /* a C program with a C++ module that linked libstdc++ statically: the demangler is not global */
            pm_nm.demangler_loaded = 1;
            void *cxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
            if (cxx != NULL) {
                pm_nm.demangle = (char *(*)(const char *, char *, size_t *, int *)) dlsym(cxx, "__cxa_demangle");
            }
        }
        int status = -1;
        char *plain = pm_nm.demangle != NULL ? pm_nm.demangle(function, NULL, NULL, &status) : NULL;
        if (plain != NULL && status == 0) {
            pm_put(line, length, plain);
            free(plain);
            return;
        }
        free(plain);
    }
    pm_put(line, length, function);
}

/* Appends "module+0xOFFSET", or "0xADDRESS" without a module. */
static void pm_put_module(char *line, size_t *length, const char *module, uintptr_t offset) {
    char number[32];
    if (module != NULL) {
        pm_put(line, length, module);
        snprintf(number, sizeof number, "+0x%lx", (unsigned long) offset);
    } else {
        snprintf(number, sizeof number, "0x%lx", (unsigned long) offset);
    }
    pm_put(line, length, number);
}

/* Adds one line for place to the description being made; module is the frame's file name, offset its
 * offset there (or the address, when module is NULL). */
static void pm_add_line(int *count, const PmPlace *place, const char *module, uintptr_t offset) {
    if (*count >= PM_LINES) {
        return;
    }
    char *line = pm_nm.lines[*count];
    size_t length = 0;
    line[0] = '\0';
    int has_line = place->file != NULL && place->line > 0;
    if (place->function != NULL) {
        pm_put_function(line, &length, place->function);
    } else if (has_line) {
        pm_put_module(line, &length, module, offset);
    }
    if (place->function != NULL || has_line) {
        pm_put(line, &length, " (");
    }
    if (has_line) {
        char number[16];
        snprintf(number, sizeof number, ":%d", place->line);
        pm_put(line, &length, place->file);
        pm_put(line, &length, number);
    } else {
        pm_put_module(line, &length, module, offset);
    }
    if (place->function != NULL || has_line) {
        pm_put(line, &length, ")");
    }
    int wrapper = 0;
    if (place->function != NULL && pm_operator_new_delete(place->function)) {
        wrapper = 1;
    } else if (place->file != NULL) {
        wrapper = pm_layer_header(place->file) || place->decl_in_header;
    } else {
        wrapper = place->decl_in_header || (place->function != NULL && pm_wrapper_name(place->function));
    }
    pm_nm.wrapper[*count] = (uint8_t) wrapper;
    (*count)++;
}

/* A DIE's name for people: the linkage name when there is one (demangled later), else DW_AT_name. */
static const char *pm_die_name(Dwarf_Die *die) {
    Dwarf_Attribute attr;
    const char *name = pm_dw.dwarf_formstring(pm_dw.dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (name == NULL) {
        name = pm_dw.dwarf_formstring(pm_dw.dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    }
    return name != NULL ? name : pm_dw.dwarf_diename(die);
}

/* The lines of one frame with libdw: the inlined calls at pc (innermost first), then the function that holds
 * them. 0 when libdw knows nothing of pc (dladdr is asked then). */
static int pm_frame_libdw(uintptr_t pc, int *count, int *reported) {
    Dwfl_Module *mod = pm_module_of(pc, reported);
    if (mod == NULL) {
        return 0;
    }
    Dwarf_Addr start = 0, bias = 0;
    const char *path = pm_dw.dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
    if (pm_dw.dwfl_module_getelf(mod, &bias) == NULL) {
        bias = start;
    }
    const char *module = path != NULL ? pm_base_name(path) : NULL;
    uintptr_t offset = pc - (uintptr_t) bias;

    GElf_Off symbol_offset = 0;
    GElf_Sym sym;
    const char *symbol = pm_dw.dwfl_module_addrinfo(mod, pc, &symbol_offset, &sym, NULL, NULL, NULL);
    PmPlace place = {.function = symbol, .file = NULL, .line = 0, .decl_in_header = 0};
    Dwfl_Line *line = pm_dw.dwfl_module_getsrc(mod, pc);
    if (line != NULL) {
        place.file = pm_dw.dwfl_lineinfo(line, NULL, &place.line, NULL, NULL, NULL);
    }

    Dwarf_Addr cu_bias = 0;
    Dwarf_Die *cu = pm_dw.dwfl_module_addrdie(mod, pc, &cu_bias);
    Dwarf_Die *scopes = NULL;
    int n = cu != NULL ? pm_dw.dwarf_getscopes(cu, pc - cu_bias, &scopes) : 0;
    if (n > 0) {
        /* past an inlined instance, dwarf_getscopes goes on in the scopes of its abstract definition; the
         * scopes around the instance itself (the functions it was inlined into) are dwarf_getscopes_die's */
        Dwarf_Die innermost = scopes[0];
        free(scopes);
        scopes = NULL;
        n = pm_dw.dwarf_getscopes_die(&innermost, &scopes);
    }
    Dwarf_Files *files = NULL;
    if (n > 0 && pm_dw.dwarf_getsrcfiles(cu, &files, NULL) != 0) {
        files = NULL;
    }
    int lines = 0;
    for (int i = 0; i < n && lines < PM_INLINED_MAX; i++) {
        int tag = pm_dw.dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram && tag != DW_TAG_entry_point) {
            continue;
        }
        const char *name = pm_die_name(&scopes[i]);
        place.function = name != NULL ? name : tag == DW_TAG_inlined_subroutine ? NULL : symbol;
        place.decl_in_header = pm_layer_header(pm_dw.dwarf_decl_file(&scopes[i]));
        pm_add_line(count, &place, module, offset);
        lines++;
        if (tag != DW_TAG_inlined_subroutine) {
            break;
        }
        /* the function this call was inlined into is at the call's line */
        Dwarf_Attribute attr;
        Dwarf_Word value;
        place.file = NULL;
        place.line = 0;
        if (files != NULL && pm_dw.dwarf_formudata(pm_dw.dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &value) == 0) {
            place.file = pm_dw.dwarf_filesrc(files, value, NULL, NULL);
        }
        if (pm_dw.dwarf_formudata(pm_dw.dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &value) == 0) {
            place.line = (int) value;
        }
        if (i == n - 1) {
            place.function = symbol; /* no enclosing function in the DWARF: the symbol's */
            place.decl_in_header = 0;
            pm_add_line(count, &place, module, offset);
            lines++;
        }
    }
    free(scopes);
    if (lines == 0) {
        if (symbol == NULL && place.file == NULL) {
            return 0;
        }
        place.function = symbol;
        place.decl_in_header = 0;
        pm_add_line(count, &place, module, offset);
    }
    return 1;
}

/* The line of one frame from dladdr: an exported symbol that covers pc, and the module. 0 when no loaded
 * module holds pc (a module loaded later may). */
static int pm_frame_dladdr(uintptr_t pc, int *count) {
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    struct link_map *map = NULL;
    PmPlace place = {.function = NULL, .file = NULL, .line = 0, .decl_in_header = 0};
    if (dladdr1((void *) pc, &info, (void **) &sym, RTLD_DL_SYMENT) == 0) {
        pm_add_line(count, &place, NULL, pc);
        return 0;
    }
    if (dladdr1((void *) pc, &info, (void **) &map, RTLD_DL_LINKMAP) == 0) {
        map = NULL;
    }
    /* dladdr gives the nearest exported symbol below pc, which is another function when pc is in a static
     * one: only a symbol whose size covers pc names it */
    if (info.dli_sname != NULL && sym != NULL && pc - (uintptr_t) info.dli_saddr < sym->st_size) {
        place.function = info.dli_sname;
    }
    const char *path = info.dli_fname != NULL && info.dli_fname[0] != '\0' ? info.dli_fname : program_invocation_name;
    uintptr_t base = map != NULL ? (uintptr_t) map->l_addr : (uintptr_t) info.dli_fbase;
    pm_add_line(count, &place, pm_base_name(path), pc - base);
    return 1;
}

static size_t pm_named_home(uintptr_t pc) {
    return (size_t) ((pc * 0x9E3779B97F4A7C15ULL) >> 48) & (PM_NAMED_SLOTS - 1);
}

/* Adds the lines kept for pc to the description being made; 0 when none are kept. */
static int pm_named_lines(uintptr_t pc, int *count) {
    if (pm_nm.named == NULL) {
        return 0;
    }
    for (size_t i = pm_named_home(pc);; i = (i + 1) & (PM_NAMED_SLOTS - 1)) {
        const PmNamed *n = &pm_nm.named[i];
        if (n->pc == 0) {
            return 0;
        }
        if (n->pc == pc) {
            const char *text = pm_nm.pool + n->text;
            for (uint32_t k = 0; k < n->lines && *count < PM_LINES; k++) {
                size_t length = strlen(text + 1);
                pm_nm.wrapper[*count] = text[0] == '1';
                memcpy(pm_nm.lines[*count], text + 1, length + 1);
                (*count)++;
                text += length + 2;
            }
            return 1;
        }
    }
}

/* Keeps lines first..count-1, pc's, for later descriptions (nothing once the slots or the pool are full). */
static void pm_named_keep(uintptr_t pc, int first, int count) {
    if (pm_nm.named == NULL && pm_nm.pool == NULL) {
        pm_nm.named = pm_map(PM_NAMED_SLOTS * sizeof(PmNamed), 0);
        pm_nm.pool = pm_map(PM_NAMED_POOL, 0);
    }
    size_t need = 0;
    for (int k = first; k < count; k++) {
        need += strlen(pm_nm.lines[k]) + 2;
    }
    if (pm_nm.named == NULL || pm_nm.pool == NULL || pm_nm.named_count >= PM_NAMED_SLOTS / 4 * 3
        || pm_nm.pool_used + need > PM_NAMED_POOL) {
        return;
    }
    size_t i = pm_named_home(pc);
    while (pm_nm.named[i].pc != 0) {
        i = (i + 1) & (PM_NAMED_SLOTS - 1);
    }
    pm_nm.named[i] = (PmNamed){.pc = pc, .text = (uint32_t) pm_nm.pool_used, .lines = (uint32_t) (count - first)};
    for (int k = first; k < count; k++) {
        char *text = pm_nm.pool + pm_nm.pool_used;
        size_t length = strlen(pm_nm.lines[k]);
        text[0] = pm_nm.wrapper[k] ? '1' : '0';
        memcpy(text + 1, pm_nm.lines[k], length + 1);
        pm_nm.pool_used += length + 2;
    }
    pm_nm.named_count++;
}

PM_HIDDEN size_t pm_stack_describe(int32_t id, char *out, size_t size) {
    if (size > 0) {
        out[0] = '\0';
    }
    const PmStack *s = pm_record(id);
    if (s == NULL || size == 0) {
        return 0;
    }
    pthread_mutex_lock(&pm_nm.lock);
    if (!pm_nm.opened) {
        pm_names_open();
    }
    int count = 0, reported = 0;
    for (uint32_t i = 0; i < s->frames && count < PM_LINES; i++) {
        uintptr_t pc = s->pc[i] - 1; /* the call instruction: the return address is past it */
        int before = count;
        if (pm_named_lines(pc, &count)) {
            continue;
        }
        int known = (pm_nm.dwfl != NULL && pm_frame_libdw(pc, &count, &reported)) || pm_frame_dladdr(pc, &count);
        if (known && count < PM_LINES) {
            pm_named_keep(pc, before, count);
        }
    }
    int first = 0;
    while (first < count && pm_nm.wrapper[first]) {
        first++;
    }
    if (first == count) {
        first = 0; /* nothing but wrappers: all of them, rather than nothing */
    }
    size_t length = 0;
    for (int i = first; i < count; i++) {
        size_t line = strlen(pm_nm.lines[i]), sep = length > 0 ? 1 : 0;
        if (length + sep + line + 1 > size) {
            if (length == 0) {
                memcpy(out, pm_nm.lines[i], size - 1);
                length = size - 1;
            }
            break;
        }
        if (sep) {
            out[length++] = '\n';
        }
        memcpy(out + length, pm_nm.lines[i], line);
        length += line;
    }
    out[length] = '\0';
    pthread_mutex_unlock(&pm_nm.lock);
    return length;
}
