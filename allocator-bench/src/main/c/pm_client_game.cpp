// pm_client_game.cpp - the C++ client of pm_clients: global operator new/delete, every form (plain,
// array, nothrow, sized, aligned), routed to the subject, and a game loop whose standard containers and
// smart pointers allocate through them.
//
// Backends (PM_CLIENT_ABI): the game's own API from compat/wwmem.h, Alloc(size, MEM_NEW) and Free(ptr),
// as the game routes its operator new; Alloc is 16-byte aligned, so the aligned forms (alignment above
// 16) use Platform_AllocAligned(size, alignment, MEM_NEW) and are freed with Free as well.
// Peers: malloc/posix_memalign/free (glibc, jemalloc), mi_malloc/mi_malloc_aligned/mi_free (mimalloc).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pm_clients.h"

#if defined(PM_CLIENT_ABI)
#  include "compat/wwmem.h"
static inline void *raw_new(std::size_t n) { return Alloc(static_cast<unsigned long>(n != 0 ? n : 1), MEM_NEW); }
static inline void *raw_new_aligned(std::size_t n, std::size_t alignment) {
    return Platform_AllocAligned(n != 0 ? n : 1, alignment, MEM_NEW);
}
static inline void raw_delete(void *p) { Free(p); }
#elif defined(PM_CLIENT_MIMALLOC)
#  include <mimalloc.h>
static inline void *raw_new(std::size_t n) { return mi_malloc(n != 0 ? n : 1); }
static inline void *raw_new_aligned(std::size_t n, std::size_t alignment) {
    return mi_malloc_aligned(n != 0 ? n : 1, alignment);
}
static inline void raw_delete(void *p) { mi_free(p); }
#else
static inline void *raw_new(std::size_t n) { return std::malloc(n != 0 ? n : 1); }
static inline void *raw_new_aligned(std::size_t n, std::size_t alignment) {
    void *p = nullptr;
    return posix_memalign(&p, alignment, n != 0 ? n : 1) == 0 ? p : nullptr;
}
static inline void raw_delete(void *p) { std::free(p); }
#endif

static inline void *counted_new(std::size_t n) {
    void *p;
    PM_CLIENT_CALL(p, raw_new(n));
    return p;
}

static inline void *counted_new_aligned(std::size_t n, std::align_val_t alignment) {
    void *p;
    PM_CLIENT_CALL(p, raw_new_aligned(n, static_cast<std::size_t>(alignment)));
    return p;
}

static inline void counted_delete(void *p) noexcept {
    if (p != nullptr) {
        PM_CLIENT_VOID_CALL(raw_delete(p));
    }
}

static inline void *or_throw(void *p) {
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}

void *operator new(std::size_t n) { return or_throw(counted_new(n)); }
void *operator new[](std::size_t n) { return or_throw(counted_new(n)); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return counted_new(n); }
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return counted_new(n); }
void *operator new(std::size_t n, std::align_val_t a) { return or_throw(counted_new_aligned(n, a)); }
void *operator new[](std::size_t n, std::align_val_t a) { return or_throw(counted_new_aligned(n, a)); }
void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return counted_new_aligned(n, a); }
void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return counted_new_aligned(n, a); }

void operator delete(void *p) noexcept { counted_delete(p); }
void operator delete[](void *p) noexcept { counted_delete(p); }
void operator delete(void *p, std::size_t) noexcept { counted_delete(p); }
void operator delete[](void *p, std::size_t) noexcept { counted_delete(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { counted_delete(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { counted_delete(p); }
void operator delete(void *p, std::align_val_t) noexcept { counted_delete(p); }
void operator delete[](void *p, std::align_val_t) noexcept { counted_delete(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { counted_delete(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { counted_delete(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { counted_delete(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { counted_delete(p); }

namespace {

struct Rng {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t x = state; // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state = x;
        return x * 2685821657736338717ull;
    }
    std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
};

struct Vec3 {
    float x, y, z;
};

// cache-line aligned: allocating one takes the aligned operator new
struct alignas(64) Transform {
    float m[16];
};

struct Mesh {
    std::string name;
    std::vector<Vec3> vertices;
    std::vector<std::uint32_t> indices;
};

struct Event {
    std::uint32_t source, target;
    int kind; // 0 attack, 1 chat, 2 trade
    std::string text;
};

class World;
struct Entity;

struct Brain {
    virtual ~Brain() = default;
    virtual void think(World &world, Entity &self) = 0;
};

struct Entity {
    std::uint32_t id = 0;
    int kind = 0;
    int hp = 100;
    std::string name;
    Vec3 position{0, 0, 0};
    std::unique_ptr<Transform> transform;
    std::unique_ptr<Brain> brain;
    std::shared_ptr<Mesh> mesh;
    std::vector<Vec3> path;
    std::vector<std::uint32_t> targets;
    std::unordered_map<std::string, int> stats;
};

const char *const KIND_NAMES[] = {"wanderer", "hunter", "merchant"};
const char *const REGIONS[] = {"northern_marsh", "old_quarry", "harbour_district", "ash_fields"};

class World {
public:
    Rng rng{0x5EED};
    std::uint32_t next_id = 1;
    std::unordered_map<std::uint32_t, std::unique_ptr<Entity>> entities;
    std::vector<std::uint32_t> alive; // ids, for picking one at random
    std::unordered_map<std::string, std::weak_ptr<Mesh>> mesh_cache;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> grid; // rebuilt every frame
    std::vector<Event> events;
    std::vector<std::string> log;
    std::vector<std::function<void(World &)>> deferred;
    std::uint64_t kills = 0, trades = 0, meshes_built = 0;

    static std::uint64_t cell(const Vec3 &p) {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(p.x / 16.0f + 1000.0f)) << 32)
               | static_cast<std::uint32_t>(p.z / 16.0f + 1000.0f);
    }

    std::shared_ptr<Mesh> acquire_mesh(std::uint32_t which) {
        std::string key = "meshes/props/" + std::to_string(which) + "/lod" + std::to_string(which % 3) + ".mesh";
        std::shared_ptr<Mesh> mesh = mesh_cache[key].lock();
        if (!mesh) {
            mesh = std::make_shared<Mesh>();
            mesh->name = key;
            std::size_t n = 64 + which * 29 % 1500;
            for (std::size_t i = 0; i < n; i++) { // grown one at a time, as a loader does
                mesh->vertices.push_back(Vec3{static_cast<float>(i), static_cast<float>(which), 1.0f});
                mesh->indices.push_back(static_cast<std::uint32_t>(i * 3 % n));
            }
            mesh_cache[key] = mesh;
            meshes_built++;
        }
        return mesh;
    }

    void spawn();
    void despawn(std::uint32_t id);
    void frame(unsigned number);
};

struct Wanderer final : Brain {
    void think(World &world, Entity &self) override {
        Vec3 step{static_cast<float>(world.rng.below(9)) - 4.0f, 0, static_cast<float>(world.rng.below(9)) - 4.0f};
        self.position = Vec3{self.position.x + step.x, 0, self.position.z + step.z};
        self.path.push_back(self.position);
        if (self.path.size() > 48) {
            self.path.erase(self.path.begin(), self.path.begin() + 16);
        }
        if (world.rng.below(50) == 0) {
            world.events.push_back(Event{self.id, 0, 1, self.name + " says: nice weather in " + REGIONS[self.id % 4]});
        }
    }
};

struct Hunter final : Brain {
    void think(World &world, Entity &self) override {
        self.targets.clear();
        auto found = world.grid.find(World::cell(self.position));
        if (found != world.grid.end()) {
            for (std::uint32_t other : found->second) {
                if (other != self.id) {
                    self.targets.push_back(other);
                }
            }
        }
        if (self.targets.empty() && !world.alive.empty()) { // nobody near: hunt someone far away
            self.targets.push_back(world.alive[world.rng.below(static_cast<std::uint32_t>(world.alive.size()))]);
        }
        for (std::uint32_t target : self.targets) {
            if (world.rng.below(4) == 0) {
                world.events.push_back(Event{self.id, target, 0, "hit by " + self.name});
            }
        }
        self.stats["attacks_made"] += static_cast<int>(self.targets.size());
        self.position.x += 1.0f;
    }
};

struct Merchant final : Brain {
    void think(World &world, Entity &self) override {
        if (world.rng.below(8) == 0 && !world.alive.empty()) {
            std::uint32_t buyer = world.alive[world.rng.below(static_cast<std::uint32_t>(world.alive.size()))];
            std::string offer = "offer from " + self.name + ": " + std::to_string(world.rng.below(1000)) + " gold";
            std::vector<int> goods(4 + world.rng.below(12), 1);
            // a callback for the end of the frame; its captures do not fit std::function's own buffer
            world.deferred.emplace_back([offer = std::move(offer), goods = std::move(goods), buyer](World &w) {
                auto found = w.entities.find(buyer);
                if (found != w.entities.end()) {
                    found->second->stats["goods_bought"] += static_cast<int>(goods.size());
                    w.log.push_back(offer);
                    w.trades++;
                }
            });
        }
    }
};

void World::spawn() {
    auto e = std::make_unique<Entity>();
    e->id = next_id++;
    e->kind = static_cast<int>(rng.below(3));
    e->name = std::string(KIND_NAMES[e->kind]) + "_" + std::to_string(e->id) + "_" + REGIONS[rng.below(4)];
    e->position = Vec3{static_cast<float>(rng.below(512)), 0, static_cast<float>(rng.below(512))};
    e->transform = std::make_unique<Transform>();
    e->transform->m[0] = e->transform->m[5] = e->transform->m[10] = e->transform->m[15] = 1.0f;
    if (e->kind == 0) {
        e->brain = std::make_unique<Wanderer>();
    } else if (e->kind == 1) {
        e->brain = std::make_unique<Hunter>();
    } else {
        e->brain = std::make_unique<Merchant>();
    }
    e->mesh = acquire_mesh(rng.below(96));
    e->stats.emplace("spawned_in_frame", static_cast<int>(next_id));
    e->stats.emplace("experience_points", 0);
    alive.push_back(e->id);
    entities.emplace(e->id, std::move(e));
}

void World::despawn(std::uint32_t id) {
    auto found = entities.find(id);
    if (found == entities.end()) {
        return;
    }
    entities.erase(found);
    for (std::size_t i = 0; i < alive.size(); i++) {
        if (alive[i] == id) {
            alive[i] = alive.back();
            alive.pop_back();
            break;
        }
    }
}

void World::frame(unsigned number) {
    unsigned births = 30 + rng.below(40);
    for (unsigned i = 0; i < births || entities.size() < 600; i++) {
        spawn();
    }
    grid.clear();
    for (auto &entry : entities) {
        grid[cell(entry.second->position)].push_back(entry.first);
    }
    for (std::uint32_t id : alive) {
        Entity &e = *entities.at(id);
        e.brain->think(*this, e);
    }
    // scratch space for the frame, from the nothrow forms
    std::unique_ptr<char[]> scratch(new (std::nothrow) char[4096 + rng.below(60000)]);
    std::unique_ptr<Transform[]> bones(new (std::nothrow) Transform[4 + rng.below(28)]);
    if (!scratch || !bones) {
        throw std::bad_alloc();
    }
    std::vector<std::uint32_t> dead;
    for (Event &event : events) {
        if (event.kind == 0) {
            auto found = entities.find(event.target);
            if (found != entities.end() && found->second->hp > 0) {
                found->second->hp -= 7 + static_cast<int>(event.text.size() % 13);
                if (found->second->hp <= 0) {
                    dead.push_back(event.target);
                    log.push_back(found->second->name + " was " + event.text);
                }
            }
        } else {
            log.push_back(std::move(event.text));
        }
    }
    events.clear();
    for (auto &callback : deferred) {
        callback(*this);
    }
    deferred.clear();
    for (std::uint32_t id : dead) {
        despawn(id);
        kills++;
    }
    while (entities.size() > 1500) { // the world's budget: the oldest are not special, pick at random
        despawn(alive[rng.below(static_cast<std::uint32_t>(alive.size()))]);
    }
    if (log.size() > 512) {
        log.erase(log.begin(), log.begin() + 256);
    }
    if (number % 16 == 15) { // forget meshes nobody holds
        for (auto it = mesh_cache.begin(); it != mesh_cache.end();) {
            it = it->second.expired() ? mesh_cache.erase(it) : std::next(it);
        }
    }
}

} // namespace

extern "C" std::uint64_t pm_client_game(unsigned frames) {
    auto world = std::make_unique<World>();
    for (unsigned f = 0; f < frames; f++) {
        world->frame(f);
    }
    std::uint64_t hp = 0, path = 0;
    for (auto &entry : world->entities) {
        hp += static_cast<std::uint64_t>(entry.second->hp + 1000);
        path += entry.second->path.size();
    }
    std::uint64_t digest = world->entities.size();
    for (std::uint64_t v : {hp, path, world->kills, world->trades, world->meshes_built,
                            static_cast<std::uint64_t>(world->log.size()), static_cast<std::uint64_t>(world->next_id)}) {
        digest = (digest ^ (v + 0x9E3779B97F4A7C15ull + (digest << 6) + (digest >> 2))) * 0xFF51AFD7ED558CCDull;
    }
    return digest;
}
