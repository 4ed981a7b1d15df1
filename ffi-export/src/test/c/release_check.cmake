# The release archive as a game team gets it: checks its SHA-256, unpacks it into a new folder under the
# system's temporary folder (away from the build), then builds release_game.c against it with pkg-config
# and with find_package(PlatformMemory), and runs each with only JAVA_HOME and PATH set. Each must use the
# archive's library and report Platform_Mem_Version() = the pom's version (VERSION); so must pkg-config
# and the CMake package. The demo game in the archive must run too.
#   cmake -DARCHIVE=... -DVERSION=... -DSRC=... -DJAVA_HOME_FOR_TEST=... -P release_check.cmake
include(${CMAKE_CURRENT_LIST_DIR}/run_checked.cmake)
function(expect text pattern what)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: expected '${pattern}' in:\n${text}")
  endif()
endfunction()

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
file(MAKE_DIRECTORY "${work}")
run(${CMAKE_COMMAND} -E tar xzf "${ARCHIVE}" WORKING_DIRECTORY "${work}")
file(GLOB unpacked RELATIVE "${work}" "${work}/*")
if(NOT unpacked STREQUAL top)
  message(FATAL_ERROR "the archive should hold one folder, ${top}; it holds: ${unpacked}")
endif()
set(sdk "${work}/${top}")
get_filename_component(sdk_real "${sdk}" REALPATH)
foreach(part include/platform_memory.h include/compat/wwmem.h include/compat/memory_wrapper.h lib/libplatform_memory.so
    lib/java/jvm.options lib/pkgconfig/platform_memory.pc lib/cmake/PlatformMemory/PlatformMemoryConfig.cmake
    bin/demo_game VERSION)
  if(NOT EXISTS "${sdk}/${part}")
    message(FATAL_ERROR "the archive lacks ${part}")
  endif()
endforeach()
file(GLOB jars "${sdk}/lib/java/*.jar")
list(LENGTH jars jar_count)
if(jar_count LESS 5)
  message(FATAL_ERROR "the archive's lib/java holds ${jar_count} jars: ${jars}")
endif()

# only JAVA_HOME (and a PATH for the shell tools) at run time
set(clean_env env -i JAVA_HOME=${JAVA_HOME_FOR_TEST} PATH=/usr/bin:/bin)
set(versions "")

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
  run(${clean_env} "${game}")
  expect("${last_output}" "library ${sdk_real}/lib/libplatform_memory.so\n" "${game} uses the archive's library")
  expect("${last_output}" "release_game: version ${VERSION}, backend arena, ok\n" "${game}")
  expect("${last_output}" "after shutdown: version ${VERSION}\n" "${game} after Platform_Mem_Shutdown")
endforeach()

# 3. the demo game shipped in the archive
run(${clean_env} PLATFORM_MEMORY_OPTIONS=backend=arena "${sdk}/bin/demo_game" --frames 30 --quiet)

file(REMOVE_RECURSE "${work}")
message(STATUS "release_archive: ${archive_name} verified; pkg-config and find_package games report version ${VERSION}")
