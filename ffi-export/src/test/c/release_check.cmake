# The release archive as a game team gets it: checks its SHA-256, unpacks it into a new folder under the
# system's temporary folder (away from the build), then builds release_game.c against it with pkg-config
# and with find_package(PlatformMemory), and runs each with nothing but PATH set (no JAVA_HOME at all), and
# again with JAVA_HOME pointing at a JDK 17 (the machine's, else a stand-in that only says it is one). Each
# must use the archive's library, its bundled runtime and that runtime's ahead-of-time cache, and report
# Platform_Mem_Version() = the pom's version (VERSION); so must pkg-config and the CMake package. The demo
# game in the archive must run too. Then the archive is unpacked into a second folder and the pkg-config
# game built in the first runs against it (LD_LIBRARY_PATH): the runtime and its cache work wherever the SDK
# is unpacked.
#   cmake -DARCHIVE=... -DVERSION=... -DSRC=... -DJAVA_HOME_FOR_TEST=... -P release_check.cmake
include(${CMAKE_CURRENT_LIST_DIR}/run_checked.cmake)
if(NOT EXISTS "${ARCHIVE}" OR NOT EXISTS "${ARCHIVE}.sha256")
  message(FATAL_ERROR "no release archive ${ARCHIVE} (and .sha256): ffi-export's package phase makes it (bin/release)")
endif()
get_filename_component(archive_name "${ARCHIVE}" NAME)
file(SHA256 "${ARCHIVE}" sum)
file(READ "${ARCHIVE}.sha256" recorded)
if(NOT recorded STREQUAL "${sum}  ${archive_name}\n")
  message(FATAL_ERROR "${ARCHIVE}.sha256 says '${recorded}', the archive's SHA-256 is ${sum}")
endif()
string(REGEX REPLACE "\\.tar\\.gz$" "" top "${archive_name}")
expect("${top}" "^platform-memory-${VERSION}-linux-x86_64$" "the archive's name")

set(tmp "$ENV{TMPDIR}")
if(tmp STREQUAL "")
  set(tmp /tmp)
endif()
string(RANDOM LENGTH 10 salt)
set(work "${tmp}/platform-memory-release-check-${salt}")
set(second "${tmp}/platform-memory-release-check-${salt}-elsewhere")
file(MAKE_DIRECTORY "${work}" "${second}")
run(${CMAKE_COMMAND} -E tar xzf "${ARCHIVE}" WORKING_DIRECTORY "${work}")
file(GLOB unpacked RELATIVE "${work}" "${work}/*")
if(NOT unpacked STREQUAL top)
  message(FATAL_ERROR "the archive should hold one folder, ${top}; it holds: ${unpacked}")
endif()
set(sdk "${work}/${top}")
get_filename_component(sdk_real "${sdk}" REALPATH)
foreach(part include/platform_memory.h include/compat/wwmem.h include/compat/memory_wrapper.h lib/libplatform_memory.so
    lib/java/jvm.options lib/java/platform-memory-arena.aot lib/java/platform-memory-system.aot
    lib/java/platform-memory-netty.aot lib/java/platform-memory-agrona.aot lib/runtime/lib/server/libjvm.so lib/runtime/legal/java.base
    lib/pkgconfig/platform_memory.pc lib/cmake/PlatformMemory/PlatformMemoryConfig.cmake bin/demo_game VERSION)
  if(NOT EXISTS "${sdk}/${part}")
    message(FATAL_ERROR "the archive lacks ${part}")
  endif()
endforeach()
file(GLOB jars "${sdk}/lib/java/*.jar")
list(LENGTH jars jar_count)
if(jar_count LESS 5)
  message(FATAL_ERROR "the archive's lib/java holds ${jar_count} jars: ${jars}")
endif()

# at run time: nothing but a PATH for the shell tools; then JAVA_HOME at a JDK 17, which must not shadow
# the bundled runtime
set(clean_env env -i PATH=/usr/bin:/bin PLATFORM_MEMORY_OPTIONS=log=verbose)
file(GLOB jdk17 /usr/lib/jvm/*-17-*/release)
if(jdk17)
  list(GET jdk17 0 jdk17)
  get_filename_component(jdk17 "${jdk17}" DIRECTORY)
else()
  set(jdk17 "${work}/fake-jdk-17")
  file(WRITE "${jdk17}/release" "JAVA_VERSION=\"17.0.2\"\n")
endif()
# runs GAME with clean_env, and JAVA_HOME=java_home unless it is empty (then with no JAVA_HOME at all)
macro(run_with_java_home java_home game)
  set(home_env "")
  if(NOT "${java_home}" STREQUAL "")
    set(home_env "JAVA_HOME=${java_home}")
  endif()
  run(${clean_env} ${home_env} "${game}")
endmacro()
# what a start from the archive in folder sdk_dir says on stderr (log=verbose): the bundled runtime, its cache
function(expect_bundled text sdk_dir what)
  get_filename_component(real "${sdk_dir}" REALPATH)
  string(REPLACE "+" "\\+" real "${real}")
  expect("${text}" "runtime ${real}/lib/runtime \\(bundled\\); ahead-of-time cache used: ${real}/lib/java/platform-memory-arena.aot"
    "${what}: the archive's runtime and its ahead-of-time cache")
endfunction()

# 1. pkg-config
run(env -i PATH=/usr/bin:/bin PKG_CONFIG_PATH=${sdk}/lib/pkgconfig pkg-config --modversion platform_memory)
string(STRIP "${last_output}" pc_version)
expect("${pc_version}" "^${VERSION}$" "pkg-config --modversion")
run(env -i PATH=/usr/bin:/bin PKG_CONFIG_PATH=${sdk}/lib/pkgconfig pkg-config --cflags --libs platform_memory)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(cc "${SRC}/release_game.c" ${flags} -o "${work}/game_pc")

# 2. find_package(PlatformMemory MAJOR.MINOR.PATCH)
string(REGEX MATCH "^[0-9]+\\.[0-9]+\\.[0-9]+" numeric "${VERSION}")
file(WRITE "${work}/consumer/CMakeLists.txt" "cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(PlatformMemory ${numeric} REQUIRED)
add_executable(game ${SRC}/release_game.c)
target_link_libraries(game PRIVATE PlatformMemory::platform_memory)
")
run(${CMAKE_COMMAND} -S "${work}/consumer" -B "${work}/consumer/build" -DCMAKE_PREFIX_PATH=${sdk})
run(${CMAKE_COMMAND} --build "${work}/consumer/build")

foreach(game "${work}/game_pc" "${work}/consumer/build/game")
  # the version needs no JVM: no JAVA_HOME at all, and nothing on stderr (no attempt to start)
  run(env -i PATH=/usr/bin:/bin "${game}" version)
  if(NOT last_output STREQUAL "version ${VERSION}\n" OR NOT last_error STREQUAL "")
    message(FATAL_ERROR "${game} version: expected 'version ${VERSION}' and no stderr, got '${last_output}' / '${last_error}'")
  endif()
  foreach(java_home "" "${jdk17}")
    run_with_java_home("${java_home}" "${game}")
    expect("${last_output}" "library ${sdk_real}/lib/libplatform_memory.so\n" "${game} uses the archive's library")
    expect("${last_output}" "release_game: version ${VERSION}, backend arena, ahead-of-time cache 1, ok\n" "${game}")
    expect("${last_output}" "after shutdown: version ${VERSION}\n" "${game} after Platform_Mem_Shutdown")
    expect_bundled("${last_error}" "${sdk}" "${game} with JAVA_HOME='${java_home}'")
  endforeach()
endforeach()

# 3. the demo game shipped in the archive
run(${clean_env} PLATFORM_MEMORY_OPTIONS=backend=arena "${sdk}/bin/demo_game" --frames 30 --quiet)

# 4. the same archive unpacked in another folder, the first one gone: a game built against it with pkg-config
run(${CMAKE_COMMAND} -E tar xzf "${ARCHIVE}" WORKING_DIRECTORY "${second}")
set(elsewhere "${second}/${top}")
get_filename_component(elsewhere_real "${elsewhere}" REALPATH)
run(env -i PATH=/usr/bin:/bin PKG_CONFIG_PATH=${elsewhere}/lib/pkgconfig pkg-config --cflags --libs platform_memory)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(cc "${SRC}/release_game.c" ${flags} -o "${second}/game_pc")
file(REMOVE_RECURSE "${work}")
foreach(java_home "" "${jdk17}")
  if(java_home STREQUAL "${work}/fake-jdk-17")
    set(java_home "${second}/fake-jdk-17")
    file(WRITE "${java_home}/release" "JAVA_VERSION=\"17.0.2\"\n")
  endif()
  run_with_java_home("${java_home}" "${second}/game_pc")
  expect("${last_output}" "library ${elsewhere_real}/lib/libplatform_memory.so\n" "the game on the second folder's library")
  expect("${last_output}" "ahead-of-time cache 1, ok\n" "the game on the second folder")
  expect_bundled("${last_error}" "${elsewhere}" "the game on the second folder, JAVA_HOME='${java_home}'")
endforeach()

# 5. another backend, named in the environment: the start takes that backend's own cache
run(${clean_env} ALLOCATOR_BACKEND=netty "${second}/game_pc")
expect("${last_output}" "backend netty, ahead-of-time cache 1, ok\n" "the game on netty")
string(REPLACE "+" "\\+" elsewhere_pattern "${elsewhere_real}")
expect("${last_error}" "ahead-of-time cache used: ${elsewhere_pattern}/lib/java/platform-memory-netty.aot"
  "the game on netty: netty's ahead-of-time cache")
# a shipped game may keep only the cache it needs: a backend without its own starts with the default's
file(REMOVE "${elsewhere}/lib/java/platform-memory-agrona.aot")
run(${clean_env} ALLOCATOR_BACKEND=agrona "${second}/game_pc")
expect("${last_output}" "backend agrona, ahead-of-time cache 1, ok\n" "the game on agrona without its cache")
expect("${last_error}" "ahead-of-time cache used: ${elsewhere_pattern}/lib/java/platform-memory-arena.aot"
  "the game on agrona without its cache: the default's")

file(REMOVE_RECURSE "${work}" "${second}")
message(STATUS "release_archive: ${archive_name} verified; pkg-config and find_package games report version ${VERSION}")
