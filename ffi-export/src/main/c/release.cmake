# Makes the release archive from the installed SDK: platform-memory-VERSION-OS-ARCH.tar.gz, one folder of
# that name holding dist/ (include, lib with the shim, lib/java with the jars, jvm.options and the
# ahead-of-time caches, lib/runtime with the Java runtime, lib/pkgconfig, lib/cmake/PlatformMemory,
# bin/demo_game), and beside it the archive's SHA-256 in
# sha256sum's format (sha256sum -c NAME.sha256). Run by ffi-export's Maven build after dist/ is complete:
#   cmake -DDIST=dist -DVERSION=0.1.0-SNAPSHOT -DOUT=ffi-export/target/release -P release.cmake
foreach(var DIST VERSION OUT)
  if("${${var}}" STREQUAL "")
    message(FATAL_ERROR "release.cmake needs -D${var}=...")
  endif()
endforeach()
foreach(part include/platform_memory.h lib/libplatform_memory.so lib/java/jvm.options lib/java/platform-memory-arena.aot
    lib/runtime/lib/server/libjvm.so
    lib/pkgconfig/platform_memory.pc lib/cmake/PlatformMemory/PlatformMemoryConfig.cmake bin/demo_game)
  if(NOT EXISTS "${DIST}/${part}")
    message(FATAL_ERROR "the SDK in ${DIST} lacks ${part}: build it first (./mvnw package)")
  endif()
endforeach()
# the jars of this version only: an earlier build's jars may still lie in dist/lib/java
file(GLOB pm_jars RELATIVE "${DIST}/lib/java" "${DIST}/lib/java/*.jar")
foreach(jar IN LISTS pm_jars)
  if(jar MATCHES "^(allocator-[a-z]+|ffi-export)-(.+)\\.jar$" AND NOT CMAKE_MATCH_2 STREQUAL VERSION)
    list(REMOVE_ITEM pm_jars "${jar}")
  endif()
endforeach()

cmake_host_system_information(RESULT pm_arch QUERY OS_PLATFORM)
string(TOLOWER "${CMAKE_HOST_SYSTEM_NAME}" pm_os)
set(name "platform-memory-${VERSION}-${pm_os}-${pm_arch}")
set(stage "${OUT}/stage")
file(REMOVE_RECURSE "${stage}")
file(MAKE_DIRECTORY "${stage}/${name}/lib/java")
file(COPY "${DIST}/include" "${DIST}/bin" DESTINATION "${stage}/${name}")
file(COPY "${DIST}/lib/" DESTINATION "${stage}/${name}/lib" REGEX "/lib/java$" EXCLUDE)
file(GLOB pm_caches RELATIVE "${DIST}/lib/java" "${DIST}/lib/java/platform-memory-*.aot")
foreach(file IN LISTS pm_jars pm_caches ITEMS jvm.options)
  file(COPY "${DIST}/lib/java/${file}" DESTINATION "${stage}/${name}/lib/java")
endforeach()
file(WRITE "${stage}/${name}/VERSION" "${VERSION}\n")

set(archive "${OUT}/${name}.tar.gz")
file(REMOVE "${archive}" "${archive}.sha256")
execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf "${archive}" "${name}" WORKING_DIRECTORY "${stage}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "could not write ${archive}")
endif()
file(REMOVE_RECURSE "${stage}")
file(SHA256 "${archive}" sum)
file(WRITE "${archive}.sha256" "${sum}  ${name}.tar.gz\n")
message(STATUS "release: ${archive} (sha256 ${sum})")
