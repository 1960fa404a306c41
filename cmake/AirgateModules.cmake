# One static library per proxy/ module (design: the architecture's module map).
# Dependencies are stated where each target is declared (CMakeLists.txt), so a
# module links only what it includes; the pure modules are also kept free of
# Asio and Beast by the build itself (airgate_pure_module below).

# airgate_module(NAME [FOLDER dir] [SOURCES file...] [EXCLUDE file...] [DEPENDS target...])
# Declares the static library airgate_NAME from every .cpp in proxy/FOLDER
# (globbed with CONFIGURE_DEPENDS, so files added later are picked up), plus
# SOURCES, minus EXCLUDE (paths relative to the source tree). DEPENDS are linked
# PUBLIC: a module's headers include its dependencies' headers.
function(airgate_module name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "FOLDER" "SOURCES;EXCLUDE;DEPENDS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "airgate_module(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set(sources)
  if(arg_FOLDER)
    file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/proxy/${arg_FOLDER}/*.cpp)
  endif()
  foreach(file ${arg_SOURCES})
    list(APPEND sources ${PROJECT_SOURCE_DIR}/${file})
  endforeach()
  foreach(file ${arg_EXCLUDE})
    list(REMOVE_ITEM sources ${PROJECT_SOURCE_DIR}/${file})
  endforeach()
  if(NOT sources)
    message(FATAL_ERROR "airgate_module(${name}): no source files (FOLDER '${arg_FOLDER}', SOURCES '${arg_SOURCES}')")
  endif()
  add_library(airgate_${name} STATIC ${sources})
  target_link_libraries(airgate_${name} PUBLIC airgate_common ${arg_DEPENDS})
endfunction()

# airgate_pure_module(target)
# Pure logic (design: config, access, header rules, selfcheck, ...) has no
# sockets: it must not include Asio or Beast. Every Asio header, and through
# them every Beast header, includes <boost/asio/detail/config.hpp>. The target's
# own sources (PRIVATE: not the targets that link it) find a stand-in for that
# header first, generated from cmake/pure-guard/config.hpp.in, whose #error
# names the target; the compiler prints the include chain that led to it.
function(airgate_pure_module target)
  set(guard_dir ${PROJECT_BINARY_DIR}/pure-guard/${target})
  set(AIRGATE_PURE_TARGET ${target})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/pure-guard/config.hpp.in
                 ${guard_dir}/boost/asio/detail/config.hpp @ONLY)
  target_include_directories(${target} BEFORE PRIVATE ${guard_dir})
endfunction()
