include(GNUInstallDirs)

# Warnings as errors, and the chosen sanitizers, on our own targets only (never
# on engine headers, which are included as SYSTEM).
function(warmpool_project_target target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANG_AND_ID:CXX,GNU,Clang>:-Wall -Wextra -Wpedantic -Werror -Wno-error=deprecated-declarations>)
endfunction()

if(WARMPOOL_SANITIZE)
  add_compile_options(-fsanitize=${WARMPOOL_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${WARMPOOL_SANITIZE})
  if(WARMPOOL_SANITIZE MATCHES "undefined")
    # libnode (V8) is built without RTTI; its objects reach our code through
    # std::shared_ptr control blocks, which UBSan's vptr check cannot verify.
    add_compile_options(-fno-sanitize-recover=undefined -fno-sanitize=vptr)
  endif()
endif()
