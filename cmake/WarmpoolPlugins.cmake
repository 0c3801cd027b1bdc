# Builds WebAssembly plugins as part of the normal build: C sources with
# Debian's clang-14 + wasi-libc (a WASI reactor, see docs/plugin-abi.md) and
# .wat text with wabt's wat2wasm. The project's own compiler (g++) is never
# involved, so these are custom commands rather than CMake targets of a
# language.
#
#   include(WarmpoolPlugins)
#   warmpool_find_plugin_toolchain()          # fails configuration if absent
#   warmpool_add_c_plugin(echo echo.c)        # -> <binary dir>/echo.wasm
#   warmpool_add_wat_plugin(spin spin.wat)    # -> <binary dir>/spin.wasm
#   warmpool_add_extism_plugin(extism_echo extism/echo.c)  # an Extism plugin
#   get_property(outputs GLOBAL PROPERTY WARMPOOL_PLUGIN_OUTPUTS)
#   add_custom_target(my_plugins ALL DEPENDS ${outputs})

set(WARMPOOL_PLUGIN_CC clang-14 CACHE STRING "clang able to target wasm32-wasi (Debian: clang-14)")
set(WARMPOOL_PLUGIN_CFLAGS -O2 -std=c11 -Wall -Wextra -Werror)
cmake_path(ABSOLUTE_PATH CMAKE_CURRENT_LIST_DIR OUTPUT_VARIABLE _warmpool_cmake_dir)
cmake_path(APPEND _warmpool_cmake_dir .. plugins include OUTPUT_VARIABLE WARMPOOL_PLUGIN_INCLUDE_DIR)
cmake_path(NORMAL_PATH WARMPOOL_PLUGIN_INCLUDE_DIR)

# Compiles and links a tiny reactor once at configure time: that proves the
# compiler, wasi-libc, the wasm32 builtins and wasm-ld are all present, with
# one clear message naming the setup script when any of them is not.
function(warmpool_find_plugin_toolchain)
  set(setup_hint "Run scripts/setup.sh (it installs clang-14, lld-14, wasi-libc, \
libclang-rt-14-dev-wasm32 and wabt), or configure with -DWARMPOOL_BUILD_WASM=OFF.")
  find_program(WARMPOOL_PLUGIN_CC_PATH NAMES ${WARMPOOL_PLUGIN_CC})
  find_program(WARMPOOL_WAT2WASM wat2wasm)
  if(NOT WARMPOOL_PLUGIN_CC_PATH)
    message(FATAL_ERROR "warmpool plugins: ${WARMPOOL_PLUGIN_CC} not found. ${setup_hint}")
  endif()
  if(NOT WARMPOOL_WAT2WASM)
    message(FATAL_ERROR "warmpool plugins: wat2wasm (package wabt) not found. ${setup_hint}")
  endif()
  set(probe_dir ${CMAKE_CURRENT_BINARY_DIR}/toolchain-probe)
  file(MAKE_DIRECTORY ${probe_dir})
  file(WRITE ${probe_dir}/probe.c
    "#include <stdlib.h>\n__attribute__((export_name(\"probe\"))) void* probe(int n) { return malloc(n); }\n")
  execute_process(
    COMMAND ${WARMPOOL_PLUGIN_CC_PATH} --target=wasm32-wasi -mexec-model=reactor -O2
            ${probe_dir}/probe.c -o ${probe_dir}/probe.wasm
    RESULT_VARIABLE probe_result
    OUTPUT_VARIABLE probe_output
    ERROR_VARIABLE probe_output)
  if(NOT probe_result EQUAL 0)
    message(FATAL_ERROR "warmpool plugins: ${WARMPOOL_PLUGIN_CC_PATH} cannot build a wasm32-wasi "
      "reactor (missing wasi-libc, libclang-rt-14-dev-wasm32 or lld-14?):\n${probe_output}\n${setup_hint}")
  endif()
endfunction()

# warmpool_add_c_plugin(<name> <source.c>)
# Builds <binary dir>/<name>.wasm from one C file, which exports its functions
# itself (WP_EXPORT in plugins/include/warmpool_plugin.h).
# --stack-first puts the C stack at the bottom of memory, so a C stack overflow
# runs off address 0 and traps instead of silently overwriting static data.
function(warmpool_add_c_plugin name source)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${WARMPOOL_PLUGIN_CC_PATH} --target=wasm32-wasi -mexec-model=reactor
            ${WARMPOOL_PLUGIN_CFLAGS} -I${WARMPOOL_PLUGIN_INCLUDE_DIR}
            -Wl,--stack-first -Wl,--strip-debug
            -MD -MF ${output}.d
            ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${output}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${source}
    DEPFILE ${output}.d
    COMMENT "Building WebAssembly plugin ${name}.wasm"
    VERBATIM)
  set_property(GLOBAL APPEND PROPERTY WARMPOOL_PLUGIN_OUTPUTS ${output})
endfunction()

# warmpool_add_extism_plugin(<name> <source.c>)
# An Extism plugin in C (plugins/include/warmpool_extism.h): the same build as
# warmpool_add_c_plugin. wasm-ld leaves the `extism:host/*` functions as
# imports because the header names their import module; a plugin that uses
# stdio or files imports WASI through wasi-libc, so its host must enable WASI.
function(warmpool_add_extism_plugin name source)
  warmpool_add_c_plugin(${name} ${source})
endfunction()

# warmpool_add_wat_plugin(<name> <source.wat>)
function(warmpool_add_wat_plugin name source)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${WARMPOOL_WAT2WASM} ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${output}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${source}
    COMMENT "Assembling WebAssembly plugin ${name}.wasm"
    VERBATIM)
  set_property(GLOBAL APPEND PROPERTY WARMPOOL_PLUGIN_OUTPUTS ${output})
endfunction()
