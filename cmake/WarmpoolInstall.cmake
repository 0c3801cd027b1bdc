include(CMakePackageConfigHelpers)

# The package is split by component so that a project asking only for `core`
# or `wasm` never needs libnode: each component's targets live in their own
# export file, loaded by warmpoolConfig.cmake only when that component is asked
# for. warmpool::wasm (the embedding API with the wabt engine, component
# `wasm`) and warmpool::wasm_common (internal) share one file, which every
# other wasm component (v8, extism) loads as well.
set(_warmpool_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/warmpool)
set(WARMPOOL_INSTALLED_COMPONENTS core)

install(DIRECTORY include/warmpool DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(TARGETS warmpool_core EXPORT warmpoolTargets)
install(EXPORT warmpoolTargets NAMESPACE warmpool:: DESTINATION ${_warmpool_cmake_dir})

if(TARGET warmpool_wasm)
  install(TARGETS warmpool_wasm_common warmpool_wasm EXPORT warmpoolWasmCommonTargets)
  install(EXPORT warmpoolWasmCommonTargets NAMESPACE warmpool::
          DESTINATION ${_warmpool_cmake_dir})
  list(APPEND WARMPOOL_INSTALLED_COMPONENTS wasm)
endif()
if(TARGET warmpool_v8)
  install(TARGETS warmpool_v8 EXPORT warmpoolV8Targets)
  install(EXPORT warmpoolV8Targets NAMESPACE warmpool:: DESTINATION ${_warmpool_cmake_dir})
  # libnode is found again on the user's side, with the same find module.
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/FindLibnodeV8.cmake DESTINATION ${_warmpool_cmake_dir})
  list(APPEND WARMPOOL_INSTALLED_COMPONENTS v8)
  get_target_property(WARMPOOL_LIBNODE_V8_API warmpool_v8 WARMPOOL_LIBNODE_V8_API)
  get_target_property(WARMPOOL_LIBNODE_PREFIX warmpool_v8 WARMPOOL_LIBNODE_PREFIX)
endif()

if(TARGET warmpool_extism)
  install(TARGETS warmpool_extism EXPORT warmpoolExtismTargets)
  install(EXPORT warmpoolExtismTargets NAMESPACE warmpool:: DESTINATION ${_warmpool_cmake_dir})
  list(APPEND WARMPOOL_INSTALLED_COMPONENTS extism)
endif()

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/warmpoolConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/warmpoolConfig.cmake
  INSTALL_DESTINATION ${_warmpool_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/warmpoolConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/warmpoolConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/warmpoolConfigVersion.cmake
        DESTINATION ${_warmpool_cmake_dir})
