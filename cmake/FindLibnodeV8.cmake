# FindLibnodeV8 — V8 as exported by Debian's libnode (libnode108 + libnode-dev).
#
# Looks, in order, in LibnodeV8_ROOT, in ${PROJECT_SOURCE_DIR}/.deps/libnode/usr (where
# scripts/setup.sh unpacks the packages) and in the system prefixes.
#
# The library is found first and the headers are then taken from the SAME prefix
# (<prefix>/include/node): a Node.js from another repository may ship a newer V8's headers in
# /usr/include/node without any libnode, and mixing those with libnode.so.108 would compile
# and then crash. As a second guard the headers' NODE_MODULE_VERSION must equal the library's
# SONAME version (libnode.so.108 <-> 108).
#
# Result: LibnodeV8_FOUND, LibnodeV8_VERSION (the V8 version), LibnodeV8_INCLUDE_DIR,
# LibnodeV8_LIBRARY and the imported target LibnodeV8::LibnodeV8. When the library lives outside
# the system library directories, the target carries an RPATH to it, so programs linking it run
# without LD_LIBRARY_PATH (from the build tree and once installed).
#
#   find_package(LibnodeV8)
#   target_link_libraries(app PRIVATE LibnodeV8::LibnodeV8)
#
# Installed with warmpool's CMake package when the V8 loader is built: warmpoolConfig.cmake uses
# it to find libnode again for projects asking for the `v8` component.

include(FindPackageHandleStandardArgs)

set(_libnode_hints "")
if(DEFINED PROJECT_SOURCE_DIR)
  list(APPEND _libnode_hints "${PROJECT_SOURCE_DIR}/.deps/libnode/usr")
endif()

# libnode-dev provides libnode.so; the runtime package alone only libnode.so.<N>.
find_library(LibnodeV8_LIBRARY
  NAMES node libnode.so.108
  HINTS ${_libnode_hints}
  PATH_SUFFIXES lib/x86_64-linux-gnu lib/${CMAKE_LIBRARY_ARCHITECTURE} lib)

if(LibnodeV8_LIBRARY)
  get_filename_component(_libnode_real "${LibnodeV8_LIBRARY}" REALPATH)
  get_filename_component(_libnode_libdir "${LibnodeV8_LIBRARY}" DIRECTORY)
  # <prefix>/lib/<arch>/libnode.so or <prefix>/lib/libnode.so
  get_filename_component(_libnode_prefix "${_libnode_libdir}" DIRECTORY)
  if(NOT EXISTS "${_libnode_prefix}/include")
    get_filename_component(_libnode_prefix "${_libnode_prefix}" DIRECTORY)
  endif()
  find_path(LibnodeV8_INCLUDE_DIR
    NAMES v8.h libplatform/libplatform.h
    PATHS "${_libnode_prefix}/include/node"
    NO_DEFAULT_PATH)
endif()

set(_libnode_mismatch "")
if(LibnodeV8_INCLUDE_DIR AND LibnodeV8_LIBRARY)
  file(STRINGS "${LibnodeV8_INCLUDE_DIR}/v8-version.h" _v8_version_lines
    REGEX "#define V8_(MAJOR_VERSION|MINOR_VERSION|BUILD_NUMBER|PATCH_LEVEL) ")
  foreach(part MAJOR_VERSION MINOR_VERSION BUILD_NUMBER PATCH_LEVEL)
    string(REGEX MATCH "V8_${part} ([0-9]+)" _ "${_v8_version_lines}")
    set(_v8_${part} "${CMAKE_MATCH_1}")
  endforeach()
  set(LibnodeV8_VERSION
    "${_v8_MAJOR_VERSION}.${_v8_MINOR_VERSION}.${_v8_BUILD_NUMBER}.${_v8_PATCH_LEVEL}")

  file(STRINGS "${LibnodeV8_INCLUDE_DIR}/node_version.h" _node_abi_line
    REGEX "#define NODE_MODULE_VERSION [0-9]+")
  string(REGEX MATCH "([0-9]+)$" _node_abi "${_node_abi_line}")
  string(REGEX MATCH "\\.so\\.([0-9]+)" _ "${_libnode_real}")
  set(_libnode_soversion "${CMAKE_MATCH_1}")
  if(_libnode_soversion AND NOT _node_abi STREQUAL _libnode_soversion)
    set(_libnode_mismatch
      "headers in ${LibnodeV8_INCLUDE_DIR} are for NODE_MODULE_VERSION ${_node_abi}, library ${_libnode_real} is ${_libnode_soversion}")
    message(WARNING "FindLibnodeV8: ${_libnode_mismatch}; ignoring them")
    set(LibnodeV8_INCLUDE_DIR "LibnodeV8_INCLUDE_DIR-NOTFOUND" CACHE PATH "" FORCE)
  endif()
endif()

find_package_handle_standard_args(LibnodeV8
  REQUIRED_VARS LibnodeV8_LIBRARY LibnodeV8_INCLUDE_DIR
  VERSION_VAR LibnodeV8_VERSION
  REASON_FAILURE_MESSAGE
    "${_libnode_mismatch} Set LibnodeV8_ROOT to the prefix holding include/node/v8.h and lib/<arch>/libnode.so (in warmpool's source tree, scripts/setup.sh unpacks libnode108 + libnode-dev into .deps/libnode/usr).")

if(LibnodeV8_FOUND AND NOT TARGET LibnodeV8::LibnodeV8)
  add_library(LibnodeV8::LibnodeV8 SHARED IMPORTED)
  # Imported include directories are SYSTEM: V8's headers never see our -Werror.
  set_target_properties(LibnodeV8::LibnodeV8 PROPERTIES
    IMPORTED_LOCATION "${_libnode_real}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibnodeV8_INCLUDE_DIR}")
  get_filename_component(_libnode_real_dir "${_libnode_real}" DIRECTORY)
  if(NOT _libnode_real_dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
    set_property(TARGET LibnodeV8::LibnodeV8 APPEND PROPERTY
      INTERFACE_LINK_OPTIONS "LINKER:-rpath,${_libnode_real_dir}")
  endif()
endif()

mark_as_advanced(LibnodeV8_LIBRARY LibnodeV8_INCLUDE_DIR)
unset(_libnode_hints)
